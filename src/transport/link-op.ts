/**
 * Shared plumbing for {@link Link} implementations: argument checks and the per-operation
 * timeout/abort semantics of {@link LinkOpOptions}, so the mock and the BLE adapters reject in
 * exactly the same way (same classes, same codes). Pure: time comes from an injected Clock.
 */

import { MAX_MESSAGE_BYTES } from '../constants.js';
import { AbortError, TimeoutError, TransportError, UsageError } from '../errors.js';
import type { Clock } from './clock.js';
import type { Deferred } from './deferred.js';
import type { LinkOpOptions } from './link.js';

/** Error codes raised by Link operations. Stable: callers switch on them. */
export const LinkErrorCode = {
  /** The link is closed (locally, by the peer, or by radio loss). TransportError. */
  closed: 'LINK_CLOSED',
  /** `timeoutMs` elapsed before the operation finished. TimeoutError. */
  timeout: 'LINK_TIMEOUT',
  /** The message is not a Uint8Array. UsageError. */
  badMessage: 'LINK_BAD_MESSAGE',
  /** The message is empty: framing cannot carry a zero-length message (docs/WIRE.md §Framing). UsageError. */
  emptyMessage: 'LINK_EMPTY_MESSAGE',
  /** The message exceeds the link's maximum message size. UsageError. */
  messageTooLarge: 'LINK_MESSAGE_TOO_LARGE',
  /** `options` is malformed (bad timeoutMs or signal). UsageError. */
  badOptions: 'LINK_BAD_OPTIONS',
} as const;

/**
 * Checks an outgoing message at the public boundary.
 *
 * @throws UsageError unless `message` is a non-empty Uint8Array of at most `maxMessageBytes` bytes.
 */
export function checkOutgoingMessage(message: unknown, maxMessageBytes: number = MAX_MESSAGE_BYTES): asserts message is Uint8Array {
  if (!(message instanceof Uint8Array)) {
    throw new UsageError(LinkErrorCode.badMessage, '"message" must be a Uint8Array');
  }
  if (message.length === 0) {
    throw new UsageError(LinkErrorCode.emptyMessage, '"message" must not be empty');
  }
  if (message.length > maxMessageBytes) {
    throw new UsageError(LinkErrorCode.messageTooLarge, `"message" must be at most ${maxMessageBytes} bytes`);
  }
}

/**
 * Checks {@link LinkOpOptions} at the public boundary.
 *
 * @throws UsageError if `timeoutMs` is not a finite number ≥ 0 or `signal` is not an AbortSignal.
 */
export function checkLinkOpOptions(options: LinkOpOptions | undefined): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    throw new UsageError(LinkErrorCode.badOptions, '"options" must be an object');
  }
  const { timeoutMs, signal } = options;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0)) {
    throw new UsageError(LinkErrorCode.badOptions, '"timeoutMs" must be a finite number ≥ 0');
  }
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new UsageError(LinkErrorCode.badOptions, '"signal" must be an AbortSignal');
  }
}

/** Duck-typed so signals from another realm (or a polyfill in React Native) are accepted. */
function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function' &&
    typeof (value as AbortSignal).removeEventListener === 'function'
  );
}

/** The AbortError for an aborted signal; the signal's reason becomes the cause. */
export function abortError(signal: AbortSignal, mayHaveSucceeded = false): AbortError {
  return new AbortError('link operation aborted', { cause: signal.reason, mayHaveSucceeded });
}

/** The TransportError every operation on a closed link rejects with. */
export function linkClosedError(reason: string, mayHaveSucceeded = false): TransportError {
  return new TransportError(LinkErrorCode.closed, `link closed: ${reason}`, { mayHaveSucceeded });
}

/** What {@link guardLinkOp} needs to know about the operation it guards. */
export interface GuardedOp {
  /** Operation name for messages, e.g. `receive`. */
  name: string;
  /**
   * Whether the effect may still happen after a timeout or abort: true for a send whose bytes
   * are already with the radio (they cannot be recalled), false for a receive.
   */
  mayHaveSucceeded: boolean;
  /** Called once when the guard gives up on the operation, e.g. to drop a receive waiter. */
  onGiveUp?: () => void;
}

/**
 * Applies `options` to a pending operation `op`: rejects it with AbortError when `signal` aborts
 * and with TimeoutError (`LINK_TIMEOUT`) after `timeoutMs` of `clock` time. The timer and the
 * abort listener are removed as soon as `op` settles, whoever settles it. The caller checks
 * `signal.aborted` before starting, so an already-aborted operation never starts.
 */
export function guardLinkOp<T>(op: Deferred<T>, clock: Clock, options: LinkOpOptions | undefined, what: GuardedOp): void {
  const giveUp = (err: Error): void => {
    if (op.reject(err)) what.onGiveUp?.();
  };
  const signal = options?.signal;
  if (signal !== undefined) {
    const onAbort = (): void => giveUp(abortError(signal, what.mayHaveSucceeded));
    signal.addEventListener('abort', onAbort, { once: true });
    op.onSettle(() => signal.removeEventListener('abort', onAbort));
  }
  const timeoutMs = options?.timeoutMs;
  if (timeoutMs !== undefined) {
    const timer = clock.setTimeout(() => {
      giveUp(
        new TimeoutError(LinkErrorCode.timeout, `${what.name} timed out after ${timeoutMs} ms`, {
          mayHaveSucceeded: what.mayHaveSucceeded,
        }),
      );
    }, timeoutMs);
    op.onSettle(() => clock.clearTimeout(timer));
  }
}

/**
 * Resolves after `ms` of `clock` time; rejects with AbortError if `signal` aborts first, and
 * with UsageError (`SLEEP_BAD_DURATION`) if `ms` is not a finite number ≥ 0.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    return Promise.reject(new UsageError('SLEEP_BAD_DURATION', '"ms" must be a finite number ≥ 0'));
  }
  if (signal?.aborted === true) return Promise.reject(abortError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
