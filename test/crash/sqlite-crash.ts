/**
 * Crash-consistency trials for the SQLite vehicle store: a child applies protocol state changes
 * (keys, tickets filed and taken, revocations, request ids, audit, time floor; one transaction
 * each) as fast as it can; the parent SIGKILLs it at a seeded random moment, reopens the store
 * and compares it with the reference store (the vault store on the memory vault) after exactly
 * K or K + 1 steps, K the last step the child acknowledged. Anything else is a lost
 * acknowledged write (fewer), a torn or mixed state (neither), or a regression.
 *
 * Every trial reuses the same store, so each child starts from what the previous kill left.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toHex } from '../../src/crypto/bytes.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { openSqliteDatabase, openSqliteVehicleStore, type SqlRow } from '../../src/store/sqlite/index.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { nextKillPlan, prng, runChild } from './crash.js';
import { applyStep, CRASH_AUDIT_ROWS, snapshot, SYNC_EVERY, vaultTickets } from './sqlite-steps.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sqlite-child.ts');

/** Outcome of {@link runSqliteCrashTrials}. */
export interface SqliteCrashReport {
  kills: number;
  /** Reopened store equal to the reference after the last acknowledged step. */
  old: number;
  /** Equal to the reference some steps further (steps after the last sync had committed). */
  new: number;
  /** Kills before the child had opened the store. */
  early: number;
  /** Highest step reached. */
  lastStep: number;
  inconsistencies: string[];
}

/** The reference snapshots after `k`, `k + 1`, … `k + SYNC_EVERY` steps (replayed from scratch: cheap in memory). */
async function reference(k: number): Promise<string[]> {
  const vault = createMemoryVault();
  const store = await openVehicleStore(vault);
  for (let i = 1; i <= k; i++) await applyStep(store, i);
  const states = [await snapshot(store, k + SYNC_EVERY, await vaultTickets(vault))];
  for (let i = k + 1; i <= k + SYNC_EVERY; i++) {
    await applyStep(store, i);
    states.push(await snapshot(store, k + SYNC_EVERY, await vaultTickets(vault)));
  }
  return states;
}

/** The SQLite store's tickets, read from its table (the interface has no listing). */
function sqliteTickets(dir: string): Array<Record<string, unknown>> {
  const { db } = openSqliteDatabase(path.join(dir, 'vehicle.db'));
  try {
    const rows = db.prepare('SELECT key_id, ticket_id, sealed_secret, expires_at, renewals_left FROM tickets ORDER BY key_id').all() as SqlRow[];
    return rows.map((r) => ({ keyId: toHex(r.key_id as Uint8Array), ticketId: toHex(r.ticket_id as Uint8Array), sealedSecret: toHex(r.sealed_secret as Uint8Array), expiresAt: r.expires_at, renewalsLeft: r.renewals_left }));
  } finally {
    db.close();
  }
}

/**
 * Reopens the store and returns which state it holds: the step j with k ≤ j ≤ k + SYNC_EVERY
 * whose reference it equals (steps past the last sync may have committed, in order), or null:
 * lost, torn or regressed.
 */
async function verify(dir: string, k: number): Promise<number | null> {
  const store = await openSqliteVehicleStore(dir, { auditMaxRows: CRASH_AUDIT_ROWS });
  let got: string;
  try {
    got = await snapshot(store, k + SYNC_EVERY, []);
  } finally {
    await store.close();
  }
  const withTickets = JSON.stringify({ ...JSON.parse(got), tickets: sqliteTickets(dir) });
  const j = (await reference(k)).indexOf(withTickets);
  return j < 0 ? null : k + j;
}

/** Runs `count` kill-and-reopen trials split over `lanes` store directories run side by side. */
export async function runSqliteCrashTrials(count: number, seed: number, options: { lanes?: number; onTrial?: (line: string) => void } = {}): Promise<SqliteCrashReport> {
  const lanes = Math.max(1, Math.min(options.lanes ?? 1, count));
  const root = await mkdtemp(path.join(tmpdir(), 'dk-sqlite-crash-'));
  try {
    const reports = await Promise.all(
      Array.from({ length: lanes }, (_, i) => runLane(Math.floor(count / lanes) + (i < count % lanes ? 1 : 0), seed + i, path.join(root, `lane-${i}`), options.onTrial)),
    );
    return {
      kills: reports.reduce((n, r) => n + r.kills, 0),
      old: reports.reduce((n, r) => n + r.old, 0),
      new: reports.reduce((n, r) => n + r.new, 0),
      early: reports.reduce((n, r) => n + r.early, 0),
      lastStep: Math.max(...reports.map((r) => r.lastStep)),
      inconsistencies: reports.flatMap((r) => r.inconsistencies),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function runLane(count: number, seed: number, dir: string, onTrial?: (line: string) => void): Promise<SqliteCrashReport> {
  const random = prng(seed);
  const report: SqliteCrashReport = { kills: 0, old: 0, new: 0, early: 0, lastStep: 0, inconsistencies: [] };
  for (let trial = 0; trial < count; trial++) {
    const plan = nextKillPlan(random);
    const run = await runChild(dir, plan, CHILD, [String(report.lastStep)]);
    const problems: string[] = [];
    if (run.exit.signal !== 'SIGKILL') problems.push(`child exited on its own (code ${run.exit.code}): ${run.stderr.trim()}`);
    else report.kills++;
    if (!run.ready) report.early++;
    if (!plan.early && !run.ready) problems.push(`child never became ready: ${run.stderr.trim()}`);
    const acknowledged = Math.max(report.lastStep, run.lastCommitted ?? 0);
    try {
      const state = run.ready || (await readdir(dir).catch(() => [])).length > 0 ? await verify(dir, acknowledged) : acknowledged;
      if (state === null) problems.push(`store after the kill matches no step from ${acknowledged} (last acknowledged) to ${acknowledged + SYNC_EVERY}: lost, torn or regressed`);
      else {
        if (state === acknowledged) report.old++;
        else report.new++;
        report.lastStep = state;
      }
    } catch (e) {
      problems.push(`reopen failed: ${e instanceof Error ? `${(e as { code?: string }).code} ${e.message}` : String(e)}`);
    }
    for (const p of problems) report.inconsistencies.push(`${path.basename(dir)} trial ${trial} (seed ${seed}): ${p}`);
    onTrial?.(`${path.basename(dir)} trial ${trial}: ${plan.early ? 'early' : 'running'} kill, step ${report.lastStep}${problems.length ? ` FAILED: ${problems.join('; ')}` : ''}`);
  }
  return report;
}
