/**
 * `npm run fuzz`: fuzzes every target, at least 1,000,000 inputs in total by default
 * (`--count N` sets the inputs per target, `--seed S` the base seed, `--codes` lists how often
 * each error code was hit). Prints per-target figures
 * and a total line, and exits non-zero on any failure.
 */

import { FuzzFailure, fuzzDecoder } from './harness.js';
import { fuzzTargets } from './targets.js';
import { protocolTargets } from './protocol-targets.js';

const MIN_TOTAL_INPUTS = 1_000_000;
const MIN_PER_TARGET_INPUTS = 100_000;

function argValue(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const value = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`${name} needs a non-negative integer`);
    process.exit(2);
  }
  return value;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

const protocol = await protocolTargets();
const targets = [...fuzzTargets(), ...protocol.session, ...protocol.lifecycle];
const perTarget = argValue('--count') ?? Math.max(MIN_PER_TARGET_INPUTS, Math.ceil(MIN_TOTAL_INPUTS / targets.length));
const baseSeed = argValue('--seed') ?? 0x5eed;

let total = 0;
let untyped = 0;
let maxMs = 0;
let failed = false;
const started = performance.now();
for (const [index, target] of targets.entries()) {
  const t0 = performance.now();
  try {
    const r = fuzzDecoder(target.name, target.decode, target.seeds, perTarget, baseSeed + index);
    total += r.count;
    maxMs = Math.max(maxMs, r.maxMs);
    const secs = (performance.now() - t0) / 1000;
    const codes = Object.entries(r.codes)
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${code} ${fmt(n)}`)
      .join(', ');
    console.log(
      `  ${target.name.padEnd(24)} ${fmt(r.count).padStart(10)} inputs, ${fmt(r.typedErrors)} typed errors, ${fmt(r.accepted)} accepted, max ${r.maxMs.toFixed(1)} ms (raw ${r.rawMaxMs.toFixed(1)} ms), ${secs.toFixed(1)} s`,
    );
    if (process.argv.includes('--codes')) console.log(`      ${codes}`);
  } catch (err) {
    failed = true;
    if (err instanceof FuzzFailure && err.kind === 'untyped-error') untyped += 1;
    console.error(`  ${target.name}: FAILED: ${err instanceof Error ? err.message : String(err)}`);
    if (err instanceof Error && err.cause !== undefined) console.error(err.cause);
  }
}
console.log(
  `fuzz: ${fmt(total)} inputs, ${untyped} untyped errors, max ${maxMs.toFixed(1)} ms (${((performance.now() - started) / 1000).toFixed(1)} s)`,
);
process.exit(failed ? 1 : 0);
