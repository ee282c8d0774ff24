/**
 * One end of the mock link: the {@link Link} a phone or vehicle holds. It owns what an
 * application sees — the receive queue and close state (a {@link MessageInbox}) and the pending
 * sends — and hands sending and closing to the connection, which owns the radio.
 */

import type { Clock } from '../clock.js';
import type { Deferred } from '../deferred.js';
import { MessageInbox } from '../inbox.js';
import type { Link, LinkCloseInfo, LinkOpOptions } from '../link.js';
import { linkClosedError } from '../link-op.js';

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
  readonly #inbox: MessageInbox;
  /** Pending sends, rejected if the link closes under them. */
  #sends = new Set<Deferred<void>>();

  constructor(role: MockRole, wiring: EndWiring) {
    this.role = role;
    this.#wiring = wiring;
    this.#inbox = new MessageInbox(wiring.clock, wiring.maxQueuedMessages);
  }

  get mtu(): number {
    return this.#wiring.mtu;
  }

  get isClosed(): boolean {
    return this.#inbox.isClosed;
  }

  get closeInfo(): LinkCloseInfo | null {
    return this.#inbox.closeInfo;
  }

  get queuedMessages(): number {
    return this.#inbox.queued;
  }

  send(message: Uint8Array, options?: LinkOpOptions): Promise<void> {
    return this.#wiring.send(this, message, options);
  }

  receive(options?: LinkOpOptions): Promise<Uint8Array> {
    return this.#inbox.receive(options);
  }

  close(reason = 'closed by application'): Promise<void> {
    if (!this.#inbox.isClosed) this.#wiring.close(this, String(reason));
    return Promise.resolve();
  }

  onClose(callback: (info: LinkCloseInfo) => void): () => void {
    return this.#inbox.onClose(callback);
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
    return this.#inbox.deliver(message);
  }

  /**
   * Marks the end closed: rejects every pending operation with TransportError `LINK_CLOSED`,
   * discards queued messages (the Link contract: later operations reject) and runs the close
   * callbacks. A pending send is marked `mayHaveSucceeded`: its bytes may have reached the peer.
   */
  shutdown(info: LinkCloseInfo): void {
    this.#inbox.close(info, () => {
      for (const op of [...this.#sends]) op.reject(linkClosedError(info.reason, true));
    });
  }
}
