/**
 * Runs an integrator's command handler with a timeout on the injected clock. A handler that
 * throws or times out never takes the vehicle down: the outcome becomes a status.
 */
import type { Clock } from '../transport/clock.js';
import { STATUS } from '../protocol/constants.js';

/** What a handler sees about the command it runs. */
export interface CommandContext {
  /** Command id (constants COMMAND, or an app-defined id ≥ 128). */
  command: number;
  /** App-defined argument bytes, if any. */
  data?: Uint8Array;
  /** Hex key id of the phone. */
  keyId: string;
  /** The key's display name. */
  keyName: string;
  role: 'owner' | 'friend';
  path: 'full' | 'fast';
  userPresent: boolean;
  /** Aborted when the handler's time is up or the vehicle shuts down. */
  signal: AbortSignal;
}

/** A vehicle-side command handler. Its returned bytes travel back sealed. */
export type CommandHandler = (ctx: CommandContext) => Promise<Uint8Array | void> | Uint8Array | void;

/** Result of running a handler. */
export interface HandlerOutcome {
  status: number;
  data?: Uint8Array;
  /** Internal detail for the audit log (never sent to the phone). */
  detail?: string;
}

/** A started handler: its own completion, and its outcome bounded by the timeout. */
export interface HandlerRun {
  /** The handler's own outcome, whenever it finishes (it may outlive the timeout). */
  settled: Promise<HandlerOutcome>;
  /** The outcome the phone is told: the handler's, or HANDLER_TIMEOUT at the deadline. */
  result: Promise<HandlerOutcome>;
  /** Whether `o` (a value of `result`) is the deadline's HANDLER_TIMEOUT rather than the handler's own outcome. */
  isDeadline(o: HandlerOutcome): boolean;
}

/**
 * Starts `handler` (synchronously: its first step runs before this returns) with a timeout of
 * `timeoutMs` on `clock`. Neither promise rejects. At the deadline the handler's signal aborts.
 */
export function startHandlerRun(handler: CommandHandler, ctx: Omit<CommandContext, 'signal'>, clock: Clock, timeoutMs: number): HandlerRun {
  const controller = new AbortController();
  const deadline: HandlerOutcome = { status: STATUS.handlerTimeout, detail: `handler exceeded ${timeoutMs} ms` };
  const finished = (o: HandlerOutcome): HandlerRun => {
    const done = Promise.resolve(o);
    return { settled: done, result: done, isDeadline: (x) => x === deadline };
  };
  let returned: ReturnType<CommandHandler>;
  try {
    returned = handler({ ...ctx, signal: controller.signal });
  } catch (e) {
    return finished(failedOutcome(e));
  }
  // A synchronous handler has finished already: no deadline can pass, so no timer and no race.
  if (!isThenable(returned)) return finished(outcomeOf(returned));
  const settled = Promise.resolve(returned).then(outcomeOf, failedOutcome);
  let timer: unknown;
  const timeout = new Promise<HandlerOutcome>((resolve) => {
    timer = clock.setTimeout(() => {
      resolve(deadline);
      // After the resolve: a handler that rejects at once on abort must not win the race.
      controller.abort();
    }, timeoutMs);
  });
  const result = Promise.race([settled, timeout]).finally(() => clock.clearTimeout(timer));
  return { settled, result, isDeadline: (o) => o === deadline };
}

/** Whether a handler's return value is a promise (or promise-like) to wait for. */
function isThenable(v: unknown): v is PromiseLike<Uint8Array | void> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** The outcome of a handler that returned `data`. */
function outcomeOf(data: Uint8Array | void): HandlerOutcome {
  return data && data.length > 0 ? { status: STATUS.ok, data } : { status: STATUS.ok };
}

/** The outcome of a handler that threw or rejected with `e` (its message goes to the audit log only). */
function failedOutcome(e: unknown): HandlerOutcome {
  return { status: STATUS.handlerFailed, detail: e instanceof Error ? e.message.slice(0, 200) : 'handler threw' };
}

/** Runs `handler` with a timeout of `timeoutMs` on `clock`. Never rejects. */
export function runHandler(handler: CommandHandler, ctx: Omit<CommandContext, 'signal'>, clock: Clock, timeoutMs: number): Promise<HandlerOutcome> {
  return startHandlerRun(handler, ctx, clock, timeoutMs).result;
}
