/**
 * Exactly-once commands (docs/PROTOCOL.md §6.4): the vehicle's memory of request ids.
 *
 * A request is identified by a digest of (request id, command id, argument): a retry must repeat
 * all three, and the same id with another command or argument is a new request, never answered
 * with someone else's result. Memory is per key, and per command within a key (the newest
 * REQUEST_MEMORY_PER_COMMAND of each), so other commands in between cannot push an uncertain
 * unlock out before its retry.
 *
 * A handler that outlives its timeout stays "in flight": a retry joins it (bounded by the
 * handler timeout again) and its real outcome is recorded when it finishes, so a slow actuation
 * answered HANDLER_TIMEOUT is later answered with what really happened.
 */
import { concatBytes, toHex, utf8 } from '../crypto/bytes.js';
import type { Clock } from '../transport/clock.js';
import { STATUS } from '../protocol/constants.js';
import type { CommandMsg } from '../protocol/messages.js';
import type { HandlerOutcome, HandlerRun } from './run-handler.js';
import { REQUEST_PENDING, type KeyRecord } from './store.js';
import type { Vehicle } from './vehicle.js';

export { REQUEST_PENDING } from './store.js';

/** Bytes of the stored request digest. */
const DIGEST_BYTES = 16;

/** The stored identity of a request: SHA-256("DK1 request" ‖ id ‖ command ‖ argument)[0..16). */
export function requestDigest(vehicle: Vehicle, command: CommandMsg): Uint8Array {
  const id = command.requestId!;
  const head = new Uint8Array([id.length, command.id >> 8, command.id & 0xff]);
  return vehicle.config.crypto.sha256(concatBytes(utf8('DK1 request'), head, id, command.data ?? new Uint8Array(0))).slice(0, DIGEST_BYTES);
}

/** Map key of an in-flight request. */
function flightKey(keyId: Uint8Array, digest: Uint8Array): string {
  return `${toHex(keyId)}/${toHex(digest)}`;
}

/** A retry's answer: the running first attempt, its remembered result, or null (a new request). */
export function recall(vehicle: Vehicle, key: KeyRecord, digest: Uint8Array): HandlerOutcome | { run: Promise<HandlerOutcome> } | null {
  const running = vehicle.inFlight.get(flightKey(key.keyId, digest));
  if (running) return { run: boundedJoin(running, vehicle.config.clock, vehicle.config.handlerTimeoutMs) };
  const rec = vehicle.config.store.getRequest(key.keyId, digest);
  if (!rec) return null;
  // The vehicle restarted while the handler ran: whether it finished is unknown.
  if (rec.status === REQUEST_PENDING) return { status: STATUS.handlerFailed, detail: 'INTERRUPTED_BY_RESTART' };
  return { status: rec.status, ...(rec.data ? { data: rec.data } : {}), detail: 'RETRY_ANSWERED' };
}

/** Marks a request pending, durably, before its handler starts. */
export function markPending(vehicle: Vehicle, key: KeyRecord, command: CommandMsg, digest: Uint8Array): Promise<void> {
  return vehicle.config.store.putRequest({ keyId: key.keyId, requestId: digest, command: command.id, status: REQUEST_PENDING, timeMs: vehicle.config.clock.now() });
}

/** Records a finished request's outcome (never throws: a lost record only weakens one retry). */
export async function remember(vehicle: Vehicle, key: KeyRecord, command: CommandMsg, digest: Uint8Array, outcome: HandlerOutcome): Promise<void> {
  try {
    await vehicle.config.store.putRequest({ keyId: key.keyId, requestId: digest, command: command.id, status: outcome.status, ...(outcome.data ? { data: outcome.data } : {}), timeMs: vehicle.config.clock.now() });
  } catch {
    await vehicle.audit({ timeMs: vehicle.config.clock.now(), keyId: toHex(key.keyId), command: command.id, outcome: 'REQUEST_NOT_FILED' });
  }
}

/**
 * Tracks a started handler under its request: the real outcome is recorded when the handler
 * finishes (before the answer, if it finishes in time), and a retry meanwhile joins it. Returns
 * what the phone is told now.
 */
export function track(vehicle: Vehicle, key: KeyRecord, command: CommandMsg, digest: Uint8Array, run: HandlerRun): Promise<HandlerOutcome> {
  const k = flightKey(key.keyId, digest);
  const recorded = run.settled.then(async (o) => {
    await remember(vehicle, key, command, digest, o);
    vehicle.inFlight.delete(k);
    return o;
  });
  vehicle.inFlight.set(k, recorded);
  return run.result.then((o) => (run.isDeadline(o) ? o : recorded));
}

/** Waits for a running first attempt, at most one handler timeout. */
function boundedJoin(running: Promise<HandlerOutcome>, clock: Clock, timeoutMs: number): Promise<HandlerOutcome> {
  let timer: unknown;
  const timeout = new Promise<HandlerOutcome>((resolve) => {
    timer = clock.setTimeout(() => resolve({ status: STATUS.handlerTimeout, detail: 'RETRY_STILL_RUNNING' }), timeoutMs);
  });
  return Promise.race([running.then((o) => ({ ...o, detail: 'RETRY_JOINED' })), timeout]).finally(() => clock.clearTimeout(timer));
}
