/**
 * Keeps unauthenticated noise from rotating authenticated records out of the audit log.
 *
 * Anyone in radio range can open links that fail before any key is identified (garbage,
 * unknown keys, silent links, BUSY). Each such record would push an older, meaningful record
 * (an unlock, a revocation) towards rotation. So per window of `windowMs` at most `budget`
 * unauthenticated records are written one by one; the rest are counted and written as one
 * summary record (`outcome: 'UNAUTHENTICATED_SUPPRESSED'`, `count`) when the next window starts.
 * Records naming a key, and admin and pairing records, are never limited.
 */
import type { AuditEvent } from './store.js';


/** Per-window budget for unauthenticated audit records. */
export class AuditLimiter {
  private windowStart = -Infinity;
  private written = 0;
  private suppressed = 0;

  constructor(
    private readonly budget: number,
    private readonly windowMs: number,
  ) {}

  /** The records to write now for `event` (possibly a summary first, possibly none). */
  admit(event: AuditEvent): AuditEvent[] {
    const out: AuditEvent[] = [];
    // The window is over: whatever record comes next carries the summary in before it.
    if (event.timeMs >= this.windowStart + this.windowMs) {
      const summary = this.flush(event.timeMs);
      if (summary) out.push(summary);
      if (isUnauthenticated(event)) this.windowStart = event.timeMs;
    }
    if (!isUnauthenticated(event)) return [...out, event];
    if (this.written < this.budget) {
      this.written++;
      out.push(event);
    } else {
      this.suppressed++;
    }
    return out;
  }

  /** Suppressed records not yet summarised. */
  get suppressedCount(): number {
    return this.suppressed;
  }

  /** When the current window ends (the summary is due), ms. */
  get windowEndsAt(): number {
    return this.windowStart + this.windowMs;
  }

  /** The summary of what was suppressed in the current window, if anything; resets the window. */
  flush(nowMs: number): AuditEvent | null {
    const count = this.suppressed;
    this.written = 0;
    this.suppressed = 0;
    return count > 0 ? { timeMs: nowMs, outcome: 'UNAUTHENTICATED_SUPPRESSED', count } : null;
  }
}

function isUnauthenticated(e: AuditEvent): boolean {
  return e.keyId === undefined && e.path !== 'admin' && e.path !== 'pairing';
}
