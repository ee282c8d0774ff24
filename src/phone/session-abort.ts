/**
 * Cancellation for the phone's operations that wait on the radio (pair, connect, unlock, owner
 * commands). The signal is threaded into every link operation by wrapping the link, so the
 * handshake drivers need no per-call plumbing, and an abort always surfaces as an AbortError —
 * before the handshake, in the middle of it, or after the command left (then with
 * `mayHaveSucceeded`).
 */
import { AbortError, DigitalKeyError } from '../errors.js';
import type { Link, LinkOpOptions } from '../transport/link.js';

/** The AbortError for an aborted `signal`, keeping `mayHaveSucceeded` from the error it replaces. */
export function asAbortError(e: unknown, signal: AbortSignal): AbortError {
  if (e instanceof AbortError) return e;
  const mayHaveSucceeded = e instanceof DigitalKeyError && e.mayHaveSucceeded;
  return new AbortError('operation aborted', { mayHaveSucceeded, cause: signal.reason ?? e });
}

/** Throws AbortError if `signal` has aborted (duck-typed: React Native polyfills have no throwIfAborted). */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('operation aborted', { cause: signal.reason });
}

/**
 * `link` with `signal` applied to every send and receive that does not bring its own. Once the
 * signal aborts, any failure of an operation is reported as AbortError (a link closed because
 * of the abort is the abort, not a transport failure). Without a signal, `link` itself.
 */
export function abortableLink(link: Link, signal: AbortSignal | undefined): Link {
  if (!signal) return link;
  const op = async <T>(run: (o: LinkOpOptions) => Promise<T>, options: LinkOpOptions | undefined): Promise<T> => {
    checkAborted(signal);
    try {
      return await run({ ...options, signal: options?.signal ?? signal });
    } catch (e) {
      throw signal.aborted ? asAbortError(e, signal) : e;
    }
  };
  return {
    get mtu() {
      return link.mtu;
    },
    get isClosed() {
      return link.isClosed;
    },
    send: (message, options) => op((o) => link.send(message, o), options),
    receive: (options) => op((o) => link.receive(o), options),
    close: (reason) => link.close(reason),
    onClose: (callback) => link.onClose(callback),
  };
}
