/**
 * Crash-consistency trials for the file vault: spawn a child that commits states as fast as it
 * can, SIGKILL it at a random moment, reopen the vault in this process and check that what is
 * on disk is exactly a state the child committed, never torn, never mixed, never older than
 * the last state it reported.
 *
 * Every trial reuses the same directory, so each child starts from the state the previous kill
 * left (stale lock, leftover temp file, torn log tail and all).
 */

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openFileVault } from '../../src/store/file-vault.js';
import {
  CRASH_LOG,
  CRASH_MAX_RECORD_BYTES,
  CRASH_VAULT_OPTIONS,
  logRecord,
  stampOf,
  stateEntries,
} from './shared.js';
import { STORE_LOG_RECORD_OVERHEAD_BYTES, STORE_LOG_SEGMENT_HEADER_BYTES } from '../../src/constants.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '../..');
const CHILD = path.join(HERE, 'child.ts');
/** A child that has not printed `ready` by then is reported as a failure, not waited for. */
const CHILD_READY_TIMEOUT_MS = 20_000;

/** Outcome of {@link runCrashTrials}. */
export interface CrashReport {
  /** Children killed with SIGKILL. */
  kills: number;
  /** Reopened state equal to the last state the child reported committed. */
  old: number;
  /** Reopened state one past it (the write in flight had committed). */
  new: number;
  /** Kills that landed before the child had opened the vault. */
  early: number;
  /** Reopens that found the dead child's LOCK and took it over. */
  staleLocks: number;
  /** Uncommitted temp files found (and deleted by open) after a kill. */
  tempFiles: number;
  /** Highest state counter reached. */
  lastState: number;
  /** Highest state counter a child printed as committed (state and log record both written). */
  lastReported: number;
  /** One line per inconsistency; empty when every trial passed. */
  inconsistencies: string[];
}

/** Options of {@link runCrashTrials}. */
export interface CrashOptions {
  /** Parent of the vault directories (default: a fresh temp directory, removed afterwards). */
  dir?: string;
  /** Independent vault directories run in parallel, each with its own child (default 1). */
  lanes?: number;
  /** Called after each trial with a one-line summary. */
  onTrial?: (line: string) => void;
}

/** Small seeded PRNG (mulberry32): the kill schedule is reproducible from the seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** When to kill a child: `early` after `delayMs` from spawn, else after `afterLines` commits and `delayMs` more. */
export interface KillPlan {
  early: boolean;
  delayMs: number;
  afterLines: number;
}

/** The seeded kill schedule shared by every crash test (see {@link runCrashTrials}). */
export function nextKillPlan(random: () => number): KillPlan {
  const early = random() < 1 / 6;
  return early
    ? { early, delayMs: Math.floor(random() * 500), afterLines: 0 }
    : { early, delayMs: random() < 0.3 ? 0 : Math.floor(random() * 15), afterLines: Math.floor(random() * 13) };
}

/** What one child did before it died. */
export interface ChildRun {
  ready: boolean;
  lastCommitted: number | null;
  exit: { code: number | null; signal: NodeJS.Signals | null };
  stderr: string;
}

/**
 * Spawns the child with tsx's ESM loader on this very node binary (`node --import tsx`, no
 * wrapper process: the pid we kill is the pid that holds the vault lock) and kills it with
 * SIGKILL when `plan` says so.
 */
export async function runChild(dir: string, plan: KillPlan, script = CHILD, extraArgs: string[] = []): Promise<ChildRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, dir, ...extraArgs], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  // 'close' comes after 'exit' (the child is reaped, so its pid is gone and its lock is stale)
  // and after its stdout has been fully read, so no committed line is missed.
  const exited = new Promise<ChildRun['exit']>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const run: ChildRun = { ready: false, lastCommitted: null, exit: { code: null, signal: null }, stderr: '' };
  let buffered = '';
  let lines = 0;
  let onLine: () => void = () => undefined;
  child.stderr.setEncoding('utf8').on('data', (s: string) => (run.stderr += s));
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    buffered += s;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('ready ')) run.ready = true;
      else if (/^\d+$/.test(line)) run.lastCommitted = Number(line);
      lines++;
      onLine();
    }
  });
  if (plan.early) {
    await Promise.race([sleep(plan.delayMs), exited]);
  } else {
    // Wait for `ready` plus `afterLines` commits, then a few more milliseconds of writing.
    const enough = new Promise<void>((resolve) => {
      onLine = () => {
        if (lines > plan.afterLines) resolve();
      };
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, CHILD_READY_TIMEOUT_MS)));
    await Promise.race([enough, exited, timeout]);
    clearTimeout(timer); // a pending 20 s timer would keep run.ts alive after the last trial
    if (plan.delayMs > 0) await sleep(plan.delayMs);
  }
  child.kill('SIGKILL');
  run.exit = await exited;
  return run;
}

/** Checks the reopened vault against what the child reported; returns problems found. */
async function verify(dir: string, floor: number, reported: number): Promise<{ problems: string[]; state: number }> {
  const problems: string[] = [];
  const vault = await openFileVault(dir, CRASH_VAULT_OPTIONS);
  try {
    const [a, b, c] = [await vault.get('a'), await vault.get('b'), await vault.get('c')];
    const k = stampOf(a);
    const expected = k === 0 ? [null, null, null] : stateEntries(k).map(([, v]) => v);
    const names = ['a', 'b', 'c'];
    [a, b, c].forEach((got, i) => {
      if (!sameBytes(got, expected[i] ?? null)) problems.push(`state ${k}: value ${names[i]} is not the one of state ${k} (torn or mixed)`);
    });
    if (k !== floor && k !== floor + 1) problems.push(`state ${k} but the child last reported ${floor}: expected ${floor} or ${floor + 1}`);
    problems.push(...checkLog(await vault.readLog(CRASH_LOG), k, reported));
    const leftovers = (await readdir(dir)).filter((n) => n.startsWith('.'));
    if (leftovers.length > 0) problems.push(`leftover files after open: ${leftovers.join(', ')}`);
    return { problems, state: k };
  } finally {
    await vault.close();
  }
}

/**
 * The log must be consecutive records ending at state k or k-1 (killed between putMany and
 * appendLog), at or after the last record any child reported (a printed k means record k had
 * been appended), each byte-exact, and rotation may only have dropped whole old segments: at
 * least `keep` full segments' worth must remain.
 */
function checkLog(records: Uint8Array[], k: number, reported: number): string[] {
  const problems: string[] = [];
  const stamps = records.map((r) => stampOf(r));
  records.forEach((r, i) => {
    if (!sameBytes(r, logRecord(stamps[i]!))) problems.push(`log record ${i} (stamp ${stamps[i]}) is not byte-exact`);
    if (i > 0 && stamps[i] !== stamps[i - 1]! + 1) problems.push(`log records not consecutive at ${i}: ${stamps[i - 1]} then ${stamps[i]}`);
  });
  const last = stamps[stamps.length - 1] ?? 0;
  if (k > 0 && last !== k && last !== k - 1) problems.push(`log ends at ${last} but state is ${k}`);
  if (last < reported) problems.push(`log ends at ${last} but a child reported ${reported} committed`);
  const perSegment = Math.floor(
    (CRASH_VAULT_OPTIONS.logSegmentMaxBytes! - STORE_LOG_SEGMENT_HEADER_BYTES) / (STORE_LOG_RECORD_OVERHEAD_BYTES + CRASH_MAX_RECORD_BYTES),
  );
  const minimum = Math.min(last, perSegment * CRASH_VAULT_OPTIONS.logKeepSegments!);
  if (records.length < minimum) problems.push(`log retains ${records.length} records, fewer than ${minimum}`);
  return problems;
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Runs `count` kill-and-reopen trials with a reproducible schedule, split over
 * `options.lanes` independent vault directories run side by side (child start-up is CPU-bound,
 * so two lanes on two cores halve the wall time). About one trial in six kills the child early
 * (0-500 ms after spawn: while tsx loads, during open, lock takeover or log repair); the rest
 * wait for `ready` and 0-12 commits, then 0-15 ms more.
 */
export async function runCrashTrials(count: number, seed: number, options: CrashOptions = {}): Promise<CrashReport> {
  const lanes = Math.max(1, Math.min(options.lanes ?? 1, count));
  const root = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'dk-crash-')));
  try {
    const reports = await Promise.all(
      Array.from({ length: lanes }, (_, i) =>
        runLane(Math.floor(count / lanes) + (i < count % lanes ? 1 : 0), seed + i, path.join(root, `lane-${i}`), options.onTrial),
      ),
    );
    return {
      kills: reports.reduce((n, r) => n + r.kills, 0),
      old: reports.reduce((n, r) => n + r.old, 0),
      new: reports.reduce((n, r) => n + r.new, 0),
      early: reports.reduce((n, r) => n + r.early, 0),
      staleLocks: reports.reduce((n, r) => n + r.staleLocks, 0),
      tempFiles: reports.reduce((n, r) => n + r.tempFiles, 0),
      lastState: Math.max(...reports.map((r) => r.lastState)),
      lastReported: Math.max(...reports.map((r) => r.lastReported)),
      inconsistencies: reports.flatMap((r) => r.inconsistencies),
    };
  } finally {
    if (options.dir === undefined) await rm(root, { recursive: true, force: true });
  }
}

/** One lane: `count` trials in sequence on one vault directory. */
async function runLane(count: number, seed: number, dir: string, onTrial?: (line: string) => void): Promise<CrashReport> {
  const random = prng(seed);
  const report: CrashReport = { kills: 0, old: 0, new: 0, early: 0, staleLocks: 0, tempFiles: 0, lastState: 0, lastReported: 0, inconsistencies: [] };
  for (let trial = 0; trial < count; trial++) {
    const plan = nextKillPlan(random);
    const early = plan.early;
    const problems = await runTrial(dir, plan, report);
    for (const p of problems) report.inconsistencies.push(`${path.basename(dir)} trial ${trial} (seed ${seed}): ${p}`);
    onTrial?.(`${path.basename(dir)} trial ${trial}: ${early ? 'early' : 'running'} kill, state ${report.lastState}${problems.length ? ` FAILED: ${problems.join('; ')}` : ''}`);
  }
  return report;
}

/** One kill and reopen; updates the counters in `report` and returns the problems found. */
async function runTrial(dir: string, plan: KillPlan, report: CrashReport): Promise<string[]> {
  const run = await runChild(dir, plan);
  const problems: string[] = [];
  if (run.exit.signal !== 'SIGKILL') problems.push(`child exited on its own (code ${run.exit.code}): ${run.stderr.trim()}`);
  else report.kills++;
  if (!run.ready) report.early++;
  if (!plan.early && !run.ready) problems.push(`child never became ready: ${run.stderr.trim()}`);
  // The state floor: the last state verified on disk or reported committed by the child. The
  // log floor is only what a child reported: a verified state k may still lack log record k
  // (killed between putMany and appendLog) until a child's recovery appends it.
  const floor = Math.max(report.lastState, run.lastCommitted ?? 0);
  report.lastReported = Math.max(report.lastReported, run.lastCommitted ?? 0);
  try {
    const before = await readdir(dir).catch(() => [] as string[]);
    if (before.includes('LOCK')) report.staleLocks++;
    report.tempFiles += before.filter((n) => n.startsWith('.tmp-')).length;
    const checked = await verify(dir, floor, report.lastReported);
    problems.push(...checked.problems);
    if (checked.state === floor) report.old++;
    else if (checked.state === floor + 1) report.new++;
    report.lastState = Math.max(floor, checked.state);
  } catch (e) {
    problems.push(`reopen failed: ${e instanceof Error ? `${(e as { code?: string }).code} ${e.message}` : String(e)}`);
  }
  return problems;
}
