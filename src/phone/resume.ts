/**
 * The phone's choice of the resume path (docs/PROTOCOL.md §14): when a live ticket may ride a
 * ResumeAuth sent right after subscribing, two connection events to the result instead of three.
 */
import { COMMAND } from '../protocol/constants.js';
import { RESUME_MAX_TICKET_AGE_MS } from '../protocol/resume.js';
import type { StoredTicket } from './store.js';

/**
 * `auto` (the default): resume whenever the ticket and the command allow it, otherwise take the
 * challenged paths. `off`: never resume (the ticket still serves the fast path after the
 * Challenge).
 */
export type ResumeMode = 'auto' | 'off';

/** Commands the phone resumes by default: the vehicle's own default set (src/vehicle/resume.ts). */
export const DEFAULT_RESUME_COMMANDS: readonly number[] = [COMMAND.unlock, COMMAND.lock, COMMAND.trunk];

/**
 * The ticket's age to send in a ResumeAuth, or null if it cannot resume: it predates
 * resumption (no receive time), the phone's clock went back since, or it is older than the
 * vehicle accepts (then the fast path, which needs no clock, is the better choice).
 */
export function resumeAgeMs(ticket: StoredTicket, nowMs: number): number | null {
  if (ticket.receivedAt === undefined) return null;
  const age = Math.floor(nowMs - ticket.receivedAt);
  return age >= 0 && age <= RESUME_MAX_TICKET_AGE_MS ? age : null;
}
