/**
 * The examples themselves, as a user runs them, in two processes on the emulated radio: the
 * vehicle module opens a pairing window; the phone pairs with the code and unlocks; then, by
 * the vehicle file and its pseudonym, locks. Each process gets noble/bleno on btvirt through
 * `node --require inject.cjs` (h4-socket.cjs), nothing else is changed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './emulator.js';

const TSX = join(ROOT, 'node_modules/.bin/tsx');
const INJECT = join(ROOT, 'test/ble/real-stack/inject.cjs');

/** Runs an example; `output()` is everything it printed so far. */
function runExample(script: string, args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(TSX, [join(ROOT, 'examples', script), ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${INJECT}`.trim() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => text, exited };
}

/** Resolves with the first match of `pattern` in the output, rejects after `timeoutMs` or on exit. */
async function waitFor(run: ReturnType<typeof runExample>, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void run.exited.then(() => (exited = true));
  for (;;) {
    const m = run.output().match(pattern);
    if (m !== null) return m;
    if (exited || Date.now() > deadline) throw new Error(`no ${pattern} in the output:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function exampleScenarios(): void {
  describe('the examples, in two processes', () => {
    it('vehicle-module --pair; phone-unlock --pair CODE (unlock); phone-unlock --vehicle FILE --command lock', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dk-examples-'));
      const vehicle = runExample('vehicle-module.ts', ['--dir', join(dir, 'vehicle'), '--pair']);
      try {
        const [, code] = await waitFor(vehicle, /code (\d+)/, 20_000);
        await waitFor(vehicle, /advertising the digital-key service/, 20_000);

        const pairing = runExample('phone-unlock.ts', ['--dir', join(dir, 'phone'), '--pair', code!, '--timeout', '1000']);
        expect(await pairing.exited, pairing.output()).toBe(0);
        expect(pairing.output()).toMatch(/paired with vehicle [0-9a-f]+ \(RSSI not available\)/);
        expect(pairing.output()).toMatch(/unlock: OK in \d+ ms/);
        await waitFor(vehicle, />>> UNLOCK for/, 5_000);

        const locking = runExample('phone-unlock.ts', ['--dir', join(dir, 'phone'), '--vehicle', join(dir, 'vehicle/vehicle.json'), '--command', 'lock', '--timeout', '5000']);
        expect(await locking.exited, locking.output()).toBe(0);
        expect(locking.output()).toMatch(/connected \(RSSI not available, ATT MTU 256\)/);
        expect(locking.output()).toMatch(/lock: OK in \d+ ms/);
        await waitFor(vehicle, />>> LOCK for .* \(fast path\)/, 5_000);
        expect(vehicle.output()).not.toMatch(/ble: /); // no onError from the adapter
      } finally {
        vehicle.child.kill('SIGTERM');
        await vehicle.exited;
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  });
}
