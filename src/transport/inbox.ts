/**
 * The receive side every {@link Link} implementation shares: a bounded queue of whole messages,
 * the receivers waiting for one, and the close state with its listeners. The mock link and the
 * BLE chunk link differ in how messages arrive and leave, not in what receive() and onClose()
 * promise, so that promise lives here once and the conformance suite holds both to it.
 *
 * The owner feeds it reassembled messages with {@link MessageInbox.deliver} and closes it with
 * {@link MessageInbox.close}, settling its own pending sends in the hook that runs between the
 * receivers' rejection and the close listeners.
 *
 * Pure: time from an injected Clock.
 */

import type { Clock } from './clock.js';
import { Deferred } from './deferred.js';
import type { LinkCloseInfo, LinkOpOptions } from './link.js';
import { abortError, checkLinkOpOptions, guardLinkOp, linkClosedError } from './link-op.js';

/** Incoming messages, waiting receivers and close listeners of one Link end. */
export class MessageInbox {
  readonly #clock: Clock;
  readonly #maxQueued: number;
  #closeInfo: LinkCloseInfo | null = null;
  #queue: Uint8Array[] = [];
  #waiters: Array<Deferred<Uint8Array>> = [];
  #closeCallbacks = new Set<(info: LinkCloseInfo) => void>();

  /**
   * @param clock times receive() timeouts.
   * @param maxQueuedMessages messages kept while nobody receives; the owner checks it is ≥ 1.
   */
  constructor(clock: Clock, maxQueuedMessages: number) {
    this.#clock = clock;
    this.#maxQueued = maxQueuedMessages;
  }

  /** Whether {@link close} has run. */
  get isClosed(): boolean {
    return this.#closeInfo !== null;
  }

  /** Why the link closed, or null while open. */
  get closeInfo(): LinkCloseInfo | null {
    return this.#closeInfo;
  }

  /** Messages delivered and waiting for receive(). */
  get queued(): number {
    return this.#queue.length;
  }

  /** {@link Link.receive}: the oldest queued message, or the next one delivered. */
  receive(options?: LinkOpOptions): Promise<Uint8Array> {
    try {
      checkLinkOpOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    if (options?.signal?.aborted === true) return Promise.reject(abortError(options.signal));
    if (this.#closeInfo !== null) return Promise.reject(linkClosedError(this.#closeInfo.reason));
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    const op = new Deferred<Uint8Array>();
    this.#waiters.push(op);
    guardLinkOp(op, this.#clock, options, {
      name: 'receive',
      mayHaveSucceeded: false,
      // A receive that timed out or was aborted must not swallow the next message.
      onGiveUp: () => {
        const index = this.#waiters.indexOf(op);
        if (index >= 0) this.#waiters.splice(index, 1);
      },
    });
    return op.promise;
  }

  /**
   * Hands a whole message to the first waiting receiver, or queues it. Returns false, and keeps
   * nothing, when the queue already holds `maxQueuedMessages`: the owner then fails the link,
   * since a peer that outruns the application would otherwise grow memory without bound.
   * The owner delivers only while open.
   */
  deliver(message: Uint8Array): boolean {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve(message);
      return true;
    }
    if (this.#queue.length >= this.#maxQueued) return false;
    this.#queue.push(message);
    return true;
  }

  /** {@link Link.onClose}: runs `callback` once at close, or at once if already closed. */
  onClose(callback: (info: LinkCloseInfo) => void): () => void {
    if (this.#closeInfo !== null) {
      callback(this.#closeInfo);
      return () => {};
    }
    // A fresh wrapper per call, so one callback subscribed twice runs twice and unsubscribes apart.
    const once = (info: LinkCloseInfo): void => callback(info);
    this.#closeCallbacks.add(once);
    return () => this.#closeCallbacks.delete(once);
  }

  /**
   * Marks the link closed: drops queued messages (the Link contract: later operations reject),
   * rejects every waiting receiver with TransportError `LINK_CLOSED`, runs `settlePending` (the
   * owner rejects its sends and stops its timers; `isClosed` is already true) and then the close
   * listeners once each, even if `settlePending` throws. Returns false, doing nothing, if
   * already closed.
   */
  close(info: LinkCloseInfo, settlePending?: () => void): boolean {
    if (this.#closeInfo !== null) return false;
    this.#closeInfo = info;
    this.#queue = [];
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const op of waiters) op.reject(linkClosedError(info.reason));
    try {
      settlePending?.();
    } finally {
      this.#runCloseCallbacks(info);
    }
    return true;
  }

  #runCloseCallbacks(info: LinkCloseInfo): void {
    const callbacks = [...this.#closeCallbacks];
    this.#closeCallbacks.clear();
    for (const callback of callbacks) {
      try {
        callback(info);
      } catch (err) {
        // A throwing listener must not stop the others or the close; surface it asynchronously.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
