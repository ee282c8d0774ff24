/**
 * One end of the mock link: the {@link Link} a phone or vehicle holds. It owns what an
 * application sees — the receive queue, pending operations and the close state — and hands
 * sending and closing to the connection, which owns the radio.
 */

import type { Clock } from '../clock.js';
import { Deferred } from '../deferred.js';
import type { Link, LinkCloseInfo, LinkOpOptions } from '../link.js';
import { abortError, checkLinkOpOptions, guardLinkOp, linkClosedError } from '../link-op.js';

/** Which device an end belongs to. The phone is the GATT client, the vehicle the GATT server. */
export type MockRole = 'phone' | 'vehicle';

/** A {@link Link} end of a mock pair, with a few read-only extras for tests. */
export interface MockLinkEnd extends Link {
  /** Device holding this end. */
  readonly role: MockRole;
  /** Messages received and waiting for receive(). */
  readonly queuedMessages: number;
  /** Why this end closed, or null while open. */
  readonly closeInfo: LinkCloseInfo | null;
}

/** What an end needs from its connection. */
export interface EndWiring {
  readonly clock: Clock;
  readonly mtu: number;
  readonly maxQueuedMessages: number;
  /** Puts a message on the air; called with checked arguments on an open end. */
  send(end: MockEnd, message: Uint8Array, options: LinkOpOptions | undefined): Promise<void>;
  /** Local close: stops the radio and tells the peer. */
  close(end: MockEnd, reason: string): void;
}

/** The implementation of {@link MockLinkEnd}. Created only by the connection. */
export class MockEnd implements MockLinkEnd {
  readonly role: MockRole;
  readonly #wiring: EndWiring;
  #closeInfo: LinkCloseInfo | null = null;
  #queue: Uint8Array[] = [];
  #waiters: Array<Deferred<Uint8Array>> = [];
  /** Pending sends, rejected if the link closes under them. */
  #sends = new Set<Deferred<void>>();
  #closeCallbacks = new Set<(info: LinkCloseInfo) => void>();

  constructor(role: MockRole, wiring: EndWiring) {
    this.role = role;
    this.#wiring = wiring;
  }

  get mtu(): number {
    return this.#wiring.mtu;
  }

  get isClosed(): boolean {
    return this.#closeInfo !== null;
  }

  get closeInfo(): LinkCloseInfo | null {
    return this.#closeInfo;
  }

  get queuedMessages(): number {
    return this.#queue.length;
  }

  send(message: Uint8Array, options?: LinkOpOptions): Promise<void> {
    return this.#wiring.send(this, message, options);
  }

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
    guardLinkOp(op, this.#wiring.clock, options, {
      name: 'receive',
      mayHaveSucceeded: false,
      onGiveUp: () => {
        const index = this.#waiters.indexOf(op);
        if (index >= 0) this.#waiters.splice(index, 1);
      },
    });
    return op.promise;
  }

  close(reason = 'closed by application'): Promise<void> {
    if (this.#closeInfo === null) this.#wiring.close(this, String(reason));
    return Promise.resolve();
  }

  onClose(callback: (info: LinkCloseInfo) => void): () => void {
    if (this.#closeInfo !== null) {
      callback(this.#closeInfo);
      return () => {};
    }
    const once = (info: LinkCloseInfo): void => callback(info);
    this.#closeCallbacks.add(once);
    return () => this.#closeCallbacks.delete(once);
  }

  /** Registers a send so a close rejects it; it unregisters itself when it settles. */
  trackSend(op: Deferred<void>): void {
    this.#sends.add(op);
    op.onSettle(() => this.#sends.delete(op));
  }

  /**
   * Hands a reassembled message to the application. Returns false when the receive queue is
   * full: a real stack would stop acknowledging; the mock fails loudly instead.
   */
  accept(message: Uint8Array): boolean {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve(message);
      return true;
    }
    if (this.#queue.length >= this.#wiring.maxQueuedMessages) return false;
    this.#queue.push(message);
    return true;
  }

  /**
   * Marks the end closed: rejects every pending operation with TransportError `LINK_CLOSED`,
   * discards queued messages (the Link contract: later operations reject) and runs the close
   * callbacks. A pending send is marked `mayHaveSucceeded`: its bytes may have reached the peer.
   */
  shutdown(info: LinkCloseInfo): void {
    if (this.#closeInfo !== null) return;
    this.#closeInfo = info;
    this.#queue = [];
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const op of waiters) op.reject(linkClosedError(info.reason));
    for (const op of [...this.#sends]) op.reject(linkClosedError(info.reason, true));
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
