import { describe, expect, it } from 'vitest';
import { runCrashTrials } from '../crash/crash.js';
import { runSqliteCrashTrials } from '../crash/sqlite-crash.js';

/**
 * Crash consistency in CI: SIGKILL a writing child 24 times at seeded random points and check
 * every reopen (npm run test:crash runs 200+ with a random seed). Two lanes keep it near 15 s on
 * two cores; child start-up under tsx dominates.
 */
describe('file vault: crash consistency', () => {
  it('24 SIGKILLs leave exactly the last reported state or the one in flight', async () => {
    const report = await runCrashTrials(24, 20_250_101, { lanes: 2 });
    expect(report.inconsistencies).toEqual([]);
    expect(report.kills).toBe(24);
    expect(report.old + report.new).toBe(24);
    expect(report.staleLocks).toBeGreaterThan(0); // the dead child's lock was taken over
    expect(report.lastState).toBeGreaterThan(24);
  }, 120_000);
});

/**
 * The same on the SQLite vehicle store: 24 SIGKILLs while a child commits protocol state
 * changes, each reopen compared with the reference store after the last acknowledged step or
 * the one in flight (npm run test:crash runs 200+ with a random seed).
 */
describe('SQLite store: crash consistency', () => {
  it('24 SIGKILLs lose no acknowledged write and leave no torn or regressed state', async () => {
    const report = await runSqliteCrashTrials(24, 20_261_202, { lanes: 2 });
    expect(report.inconsistencies).toEqual([]);
    expect(report.kills).toBe(24);
    expect(report.old + report.new).toBe(24);
    expect(report.lastStep).toBeGreaterThan(24);
  }, 120_000);
});
