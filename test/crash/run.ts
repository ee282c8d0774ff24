/**
 * `npm run test:crash [count] [seed]`: SIGKILLs a vault-writing child `count` times (default
 * 200) and checks every reopen. Prints `crash: N kills, 0 inconsistencies (N old, M new)` and
 * exits non-zero on any inconsistency. Set CRASH_VERBOSE=1 to print every trial.
 */

import { runCrashTrials } from './crash.js';

const DEFAULT_KILLS = 200;

async function main(): Promise<number> {
  const count = Number(process.argv[2] ?? DEFAULT_KILLS);
  const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(seed)) {
    console.error('usage: run.ts [count] [seed]');
    return 2;
  }
  const verbose = process.env.CRASH_VERBOSE === '1';
  const started = performance.now();
  const report = await runCrashTrials(count, seed, { lanes: 2, ...(verbose ? { onTrial: (line: string) => console.log(line) } : {}) });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  for (const line of report.inconsistencies) console.error(line);
  console.log(
    `crash: ${report.kills} kills, ${report.inconsistencies.length} inconsistencies (${report.old} old, ${report.new} new)` +
      ` — seed ${seed}; ${report.staleLocks} stale locks taken over, ${report.tempFiles} temp files cleaned,` +
      ` ${report.early} kills before open, last state ${report.lastState}, ${seconds} s`,
  );
  return report.inconsistencies.length === 0 && report.kills === count ? 0 : 1;
}

process.exitCode = await main();
