/**
 * Measures each side's critical-path CPU in one process, by wrapping each side's Link end
 * (docs/BENCHMARKS.md §Method, "CPU per side").
 *
 * A side is *busy* from the moment a message reaches it (its receive() resolves) until it hands
 * its next message to the link (send() is called), or until the bench marks the end of the flow.
 * Under a VirtualClock no virtual time passes inside such a window — the code between a receive
 * and the next send only awaits promise chains (memory vault, handler), never a timer — so the
 * wall time of the window is that side's processing time (CPU plus microtask hops).
 *
 * Two things keep the sides apart although they share one thread:
 * - A send's acknowledgement is held back until the peer has finished processing the message it
 *   carried (`gate`), so the sender's continuation (e.g. the vehicle refilling its challenge
 *   pool after answering) cannot run inside the peer's window.
 * - In model mode each send is delayed by that window's measured CPU, in virtual time, so the
 *   connection-event alignment of a slow reply is simulated (`delaysMs`).
 */
import type { Clock } from '../../src/transport/clock.js';
import type { Link, LinkCloseInfo, LinkOpOptions } from '../../src/transport/link.js';

/** One side's busy windows. */
export class SideTimer {
  /** Duration of each closed window, ms, in order. */
  readonly windowsMs: number[] = [];
  /** Virtual time that passed inside each closed window, ms (must be 0 in CPU mode). */
  readonly virtualMsInWindows: number[] = [];
  /** Per counter, its growth inside each closed window (e.g. crypto ms), for attribution. */
  readonly attributed: Record<string, number[]> = {};
  /** Virtual time at which each closed window opened, ms. */
  readonly openedAtVirtualMs: number[] = [];
  #openedAt: number | null = null;
  #openedVirtualMs = 0;
  #openedCounters: Record<string, number> = {};
  /** Index of the received message that opened the current window (0 = opened by the bench). */
  #openedBy = 0;
  #received = 0;
  #closedThrough = -1;
  #waiters: Array<{ index: number; resolve: () => void }> = [];

  /** `counters` are sampled when a window opens and closes (e.g. total crypto ms so far). */
  constructor(
    private readonly clock: Clock,
    private readonly counters: Record<string, () => number> = {},
  ) {
    for (const name of Object.keys(counters)) this.attributed[name] = [];
  }

  /** Opens a window not caused by a message (the vehicle building its first challenge). */
  openInitial(): void {
    this.#open(0);
  }

  /** A message reached this side: opens a window. */
  received(): void {
    this.#received += 1;
    this.#open(this.#received);
  }

  /** Closes the open window (a send, or the end of the flow). Idempotent. */
  close(): void {
    if (this.#openedAt === null) return;
    this.windowsMs.push(performance.now() - this.#openedAt);
    this.virtualMsInWindows.push(this.clock.now() - this.#openedVirtualMs);
    this.openedAtVirtualMs.push(this.#openedVirtualMs);
    for (const [name, read] of Object.entries(this.counters)) this.attributed[name]!.push(read() - this.#openedCounters[name]!);
    this.#openedAt = null;
    this.#closedThrough = this.#openedBy;
    const ready = this.#waiters.filter((w) => w.index <= this.#closedThrough);
    this.#waiters = this.#waiters.filter((w) => w.index > this.#closedThrough);
    for (const w of ready) w.resolve();
  }

  /** Resolves once the window opened by the `index`-th received message has closed. */
  processed(index: number): Promise<void> {
    if (index <= this.#closedThrough) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ index, resolve }));
  }

  /** Releases every waiter (the link closed: nothing more will be processed). */
  releaseAll(): void {
    const all = this.#waiters;
    this.#waiters = [];
    for (const w of all) w.resolve();
  }

  #open(by: number): void {
    this.#openedVirtualMs = this.clock.now();
    for (const [name, read] of Object.entries(this.counters)) this.#openedCounters[name] = read();
    this.#openedBy = by;
    this.#openedAt = performance.now();
  }
}

/** Options of a {@link TimingLink}. */
export interface TimingLinkOptions {
  /** Virtual delay before the n-th send (0-based), ms: the modelled CPU of the window it ends. */
  delaysMs?: readonly number[];
}

/** A Link that records its side's busy windows and holds acknowledgements until the peer is done. */
export class TimingLink implements Link {
  #sends = 0;

  constructor(
    private readonly inner: Link,
    private readonly self: SideTimer,
    private readonly peer: SideTimer,
    private readonly clock: Clock,
    private readonly options: TimingLinkOptions = {},
  ) {
    inner.onClose(() => {
      self.releaseAll();
      peer.releaseAll();
    });
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  get isClosed(): boolean {
    return this.inner.isClosed;
  }

  async send(message: Uint8Array, options?: LinkOpOptions): Promise<void> {
    this.self.close();
    const index = ++this.#sends;
    const delayMs = this.options.delaysMs?.[index - 1] ?? 0;
    if (delayMs > 0) await new Promise<void>((resolve) => this.clock.setTimeout(resolve, delayMs));
    await this.inner.send(message, options);
    // The n-th message this side sends is the n-th the peer receives (no adversary here).
    await this.peer.processed(index);
  }

  async receive(options?: LinkOpOptions): Promise<Uint8Array> {
    const message = await this.inner.receive(options);
    this.self.received();
    return message;
  }

  close(reason?: string): Promise<void> {
    return this.inner.close(reason);
  }

  onClose(callback: (info: LinkCloseInfo) => void): () => void {
    return this.inner.onClose(callback);
  }
}
