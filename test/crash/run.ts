/**
 * `npm run test:crash [count] [seed] [--store file|sqlite|all]`: SIGKILLs a store-writing child
 * `count` times per store (default 200; default store: all) and checks every reopen. Prints
 * `crash (<store>): N kills, 0 inconsistencies (N old, M new)` per store and exits non-zero on
 * any inconsistency. Set CRASH_VERBOSE=1 to print every trial.
 */

import { runCrashTrials } from './crash.js';
import { runSqliteCrashTrials } from './sqlite-crash.js';

const DEFAULT_KILLS = 200;

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const storeAt = argv.indexOf('--store');
  const store = storeAt >= 0 ? argv[storeAt + 1] : 'all';
  const positional = argv.filter((_, i) => storeAt < 0 || (i !== storeAt && i !== storeAt + 1));
  const count = Number(positional[0] ?? DEFAULT_KILLS);
  const seed = Number(positional[1] ?? Date.now() % 2 ** 31);
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(seed) || !['file', 'sqlite', 'all'].includes(store ?? '')) {
    console.error('usage: run.ts [count] [seed] [--store file|sqlite|all]');
    return 2;
  }
  const verbose = process.env.CRASH_VERBOSE === '1';
  const onTrial = verbose ? { onTrial: (line: string) => console.log(line) } : {};
  let failed = false;
  if (store === 'file' || store === 'all') {
    const started = performance.now();
    const report = await runCrashTrials(count, seed, { lanes: 2, ...onTrial });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    for (const line of report.inconsistencies) console.error(line);
    console.log(
      `crash (file vault): ${report.kills} kills, ${report.inconsistencies.length} inconsistencies (${report.old} old, ${report.new} new)` +
        ` — seed ${seed}; ${report.staleLocks} stale locks taken over, ${report.tempFiles} temp files cleaned,` +
        ` ${report.early} kills before open, last state ${report.lastState}, ${seconds} s`,
    );
    failed ||= report.inconsistencies.length > 0 || report.kills !== count;
  }
  if (store === 'sqlite' || store === 'all') {
    const started = performance.now();
    const report = await runSqliteCrashTrials(count, seed, { lanes: 2, ...onTrial });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    for (const line of report.inconsistencies) console.error(line);
    console.log(
      `crash (sqlite store): ${report.kills} kills, ${report.inconsistencies.length} inconsistencies (${report.old} old, ${report.new} new)` +
        ` — seed ${seed}; ${report.early} kills before open, last step ${report.lastStep}, ${seconds} s`,
    );
    failed ||= report.inconsistencies.length > 0 || report.kills !== count;
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
