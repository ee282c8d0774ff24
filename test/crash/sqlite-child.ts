/**
 * SQLite crash child: opens the SQLite vehicle store in argv[2], which holds steps 1..argv[3],
 * and applies steps argv[3] + 1, + 2, … until it is killed. After every SYNC_EVERY-th step it
 * calls `sync()` and prints `k` (a synchronous write to a pipe: once the parent reads `k`, steps
 * up to k were acknowledged durable). Between syncs, deferred writes (ticket takes and filings,
 * audit, finished requests, floor raises) ride on the next immediate write's commit, as on a
 * vehicle, so a kill may land with several steps applied and not yet acknowledged.
 */
import { writeSync } from 'node:fs';
import { openSqliteVehicleStore } from '../../src/store/sqlite/index.js';
import { applyStep, CRASH_AUDIT_ROWS, SYNC_EVERY } from './sqlite-steps.js';

async function main(dir: string, from: number): Promise<never> {
  const store = await openSqliteVehicleStore(dir, { auditMaxRows: CRASH_AUDIT_ROWS });
  writeSync(1, `ready ${from}\n`);
  for (let k = from + 1; ; k++) {
    await applyStep(store, k);
    if (k % SYNC_EVERY !== 0) continue;
    await store.sync();
    writeSync(1, `${k}\n`);
  }
}

const [dir, from] = [process.argv[2], Number(process.argv[3])];
if (dir === undefined || !Number.isSafeInteger(from)) {
  writeSync(2, 'usage: sqlite-child.ts <dir> <steps-already-applied>\n');
  process.exit(2);
}
main(dir, from).catch((e: unknown) => {
  writeSync(2, `child failed: ${e instanceof Error ? `${(e as { code?: string }).code ?? ''} ${e.message}` : String(e)}\n`);
  process.exit(1);
});
