/**
 * Crash child: opens the vault in argv[2] and commits successive states until it is killed.
 *
 * Step k: putMany(state k) across three names, then appendLog(record k), then prints `k` on
 * stdout (a synchronous write to a pipe: once the parent reads `k`, both writes had resolved).
 * On start it prints `ready <k>` with the state it found, after redoing the log append of
 * state k if the previous child was killed between the two writes (the redo an integrator's
 * own recovery does: the state is the authority, the log catches up).
 */

import { writeSync } from 'node:fs';
import { openFileVault } from '../../src/store/file-vault.js';
import { CRASH_LOG, CRASH_VAULT_OPTIONS, logRecord, stampOf, stateEntries } from './shared.js';

async function main(dir: string): Promise<never> {
  const vault = await openFileVault(dir, CRASH_VAULT_OPTIONS);
  let k = stampOf(await vault.get('a'));
  const log = await vault.readLog(CRASH_LOG);
  if (k > 0 && stampOf(log[log.length - 1]) < k) await vault.appendLog(CRASH_LOG, logRecord(k));
  writeSync(1, `ready ${k}\n`);
  for (;;) {
    k += 1;
    await vault.putMany(stateEntries(k));
    await vault.appendLog(CRASH_LOG, logRecord(k));
    writeSync(1, `${k}\n`);
  }
}

const dir = process.argv[2];
if (dir === undefined) {
  writeSync(2, 'usage: child.ts <vault-dir>\n');
  process.exit(2);
}
main(dir).catch((e: unknown) => {
  writeSync(2, `child failed: ${e instanceof Error ? `${(e as { code?: string }).code ?? ''} ${e.message}` : String(e)}\n`);
  process.exit(1);
});
