/**
 * The vehicle's side of resumption (docs/PROTOCOL.md §14): the ticket taken durably before
 * anything else, the per-command resume policy, and the freshness window on the vehicle's
 * clock. The pure message work is in src/protocol/resume.ts; Connection calls
 * {@link openResume} when the first message answering its Challenge is a ResumeAuth.
 */
import { wipe } from '../crypto/provider.js';
import { ProtocolError } from '../errors.js';
import { COMMAND, MGMT_COMMAND, RECHALLENGE_COMMAND } from '../protocol/constants.js';
import type { CommandMsg } from '../protocol/messages.js';
import { openResumeAuth, type OpenedResumeAuth, type ResumeAuthMsg } from '../protocol/resume.js';
import type { VehicleHandshake } from '../protocol/vehicle-handshake.js';
import { unsealTicket } from './identity.js';
import type { CommandPolicy } from './policy.js';
import type { KeyRecord, TicketRecord } from './store.js';
import type { Vehicle } from './vehicle.js';

/** Commands that may resume when the integrator says nothing: the everyday, low-stakes ones. */
const RESUMABLE_BY_DEFAULT: ReadonlySet<number> = new Set([COMMAND.unlock, COMMAND.lock, COMMAND.trunk]);
/** Commands that never resume, whatever the policy says: drive authorisation, re-challenge, management. */
const NEVER_RESUMABLE: ReadonlySet<number> = new Set([COMMAND.start, RECHALLENGE_COMMAND, ...Object.values(MGMT_COMMAND)]);

/**
 * The per-command resume policy. A command whose policy needs the full path or bounds the
 * challenge-to-Auth time can never resume: a ResumeAuth answers no challenge, so neither can be
 * judged. Otherwise `allowResume` decides, defaulting to unlock, lock and trunk only.
 */
export function mayResume(policy: CommandPolicy | undefined, commandId: number): boolean {
  if (NEVER_RESUMABLE.has(commandId)) return false;
  if (policy?.requireFullPath || policy?.maxChallengeToAuthMs !== undefined) return false;
  return policy?.allowResume ?? RESUMABLE_BY_DEFAULT.has(commandId);
}

/** A ResumeAuth that authenticated: what Connection needs to establish the session. */
export interface ResumedAuth {
  opened: OpenedResumeAuth;
  key: KeyRecord;
  previous: TicketRecord;
}

/**
 * Takes the ticket (durably deleted before anything runs: single use even across a crash),
 * then checks expiry, key, the sealed issue time against the window, the seal and the body,
 * and the command's resume policy. Returns the authenticated attempt, or the audit detail of
 * a miss (the caller answers RETRY_FULL and the Challenge stays open for one full Auth).
 */
export async function openResume(vehicle: Vehicle, state: VehicleHandshake, msg: ResumeAuthMsg): Promise<ResumedAuth | { miss: string }> {
  const { crypto, store, policies } = vehicle.config;
  // Only as the first answer to a Challenge: after a miss, only the full Auth may follow (REJECTED).
  if (state.stage !== 'challenged' || state.fastFailed) throw new ProtocolError('UNEXPECTED_MESSAGE', 'only a full Auth may follow a resume miss');
  const ticket = await store.takeTicket(msg.ticketId);
  // The same audit detail for a missing and a spent ticket: a copied ticket used twice lands here.
  if (!ticket) return missAndArm(state, 'TICKET_UNKNOWN');
  const now = vehicle.now();
  const key = ticket.expiresAt > now ? store.getKey(ticket.keyId) : undefined;
  if (!key) return missAndArm(state, 'TICKET_INVALID');
  const unsealed = unsealTicket(crypto, vehicle.ticketSealKey, ticket.ticketId, ticket.keyId, ticket.sealedSecret);
  if (!unsealed) return missAndArm(state, 'TICKET_UNSEALABLE');
  try {
    const allowed = (command: CommandMsg) => mayResume(policies.get(command.id), command.id);
    const opened = openResumeAuth(crypto, vehicle.identity, state, msg, unsealed.secret, { nowMs: now, issuedAtMs: unsealed.issuedAtMs }, allowed);
    if ('miss' in opened) return opened;
    return { opened, key, previous: ticket };
  } finally {
    wipe(unsealed.secret);
  }
}

/** A miss found before the pure opener ran: arm the one full fallback the same way it does. */
function missAndArm(state: VehicleHandshake, reason: string): { miss: string } {
  if (state.stage === 'challenged') state.fastFailed = true;
  return { miss: reason };
}
