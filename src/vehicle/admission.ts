/**
 * Admission of links to the handshake (docs/THREAT-MODEL.md §Denial of service).
 *
 * A link that took a Challenge and stays silent must not lock the owner out. So a challenged
 * link awaiting its first Auth holds no work slot at all, only a place in a bounded FIFO of
 * pending handshakes: when the FIFO is full the OLDEST pending link is evicted (closed) to admit
 * the newest, and each pending link has a short first-Auth deadline. An honest phone answers a
 * Challenge within a connection event or two, so it stays near the young end of the FIFO while
 * silent links age out. Work slots (the ECDH, signature and grant checks of an arrived Auth) are
 * a separate small cap: only links that actually sent an Auth compete for them.
 *
 * Memory is bounded by `maxPending` entries whatever the number of links; an evicted link costs
 * nothing after its close.
 */

/** A pending handshake the admission table can evict. */
export interface Evictable {
  /** Closes the link (called at most once, when evicted). */
  evict(): void;
}

/** Pending-handshake FIFO with eviction of the oldest, plus a cap on concurrent Auth work. */
export class Admission {
  private readonly pending = new Set<Evictable>();
  private working = 0;
  /** Links evicted so far (for diagnostics and tests). */
  evictions = 0;

  constructor(
    private readonly maxPending: number,
    private readonly maxWorking: number,
  ) {}

  /** Admits a link that is about to receive a Challenge, evicting the oldest pending one if full. */
  admit(entry: Evictable): void {
    while (this.pending.size >= this.maxPending) {
      const oldest = this.pending.values().next().value as Evictable;
      this.pending.delete(oldest);
      this.evictions++;
      oldest.evict();
    }
    this.pending.add(entry);
  }

  /** Removes a link from the pending FIFO (its Auth arrived, or it ended). */
  leave(entry: Evictable): void {
    this.pending.delete(entry);
  }

  /** Takes a work slot for an arrived Auth; false when all are busy (the phone is told BUSY). */
  tryWork(): boolean {
    if (this.working >= this.maxWorking) return false;
    this.working++;
    return true;
  }

  /** Releases a work slot. */
  endWork(): void {
    this.working--;
  }

  /** Links waiting for their first Auth. */
  get pendingCount(): number {
    return this.pending.size;
  }
}
