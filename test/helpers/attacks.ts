/**
 * Attack helpers for the hostile-case protocol tests (issue 3): capture and tamper with
 * messages on the mock link, drive an attacker-controlled end, build phones with unusual
 * options and a second vehicle on the same virtual clock.
 *
 * Message numbering follows docs/PROTOCOL.md §5: on a fresh link the vehicle's first message
 * (`toPhone` index 0) is the Challenge, the phone's first (`toVehicle` index 0) is the Auth,
 * and the vehicle's second (`toPhone` index 1) is msg 3, the first Result.
 */
import { expect } from 'vitest';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { createSoftwareSigner } from '../../src/crypto/signer.js';
import type { Signer } from '../../src/crypto/provider.js';
import { DigitalKeyError } from '../../src/errors.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { createMockLinkPair, type Adversary, type AdversaryAction, type AdversaryEvent, type Direction, type MockLinkOptions, type MockLinkPair } from '../../src/transport/mock/index.js';
import { Phone, type PhoneOptions } from '../../src/phone/phone.js';
import { PhoneStore, type StoredTicket } from '../../src/phone/store.js';
import { Vehicle, type VehicleOptions } from '../../src/vehicle/vehicle.js';
import { openVehicleStore, type AuditEvent } from '../../src/vehicle/store.js';
import type { CommandContext } from '../../src/vehicle/run-handler.js';
import { COMMAND, STATUS } from '../../src/protocol/constants.js';
import { FrameSchema } from '../../src/protocol/messages.js';
import { encodeMessage } from '../../src/wire/schema.js';
import { seededRandom, type World } from './world.js';

/** Every message as its sender sent it (before any tampering), per direction, in order. */
export interface Capture {
  toVehicle: Uint8Array[];
  toPhone: Uint8Array[];
}

/** A tampering rule: return an action for this message, or undefined to let it through. */
export type Tamper = (event: AdversaryEvent, capture: Capture) => AdversaryAction | readonly AdversaryAction[] | void;

/**
 * An adversary that records every message and applies `tamper` to it. The capture holds the
 * original bytes, so a test can replay them later on this or another link.
 */
export function recordingAdversary(tamper?: Tamper): { capture: Capture; adversary: Adversary } {
  const capture: Capture = { toVehicle: [], toPhone: [] };
  const adversary: Adversary = (event) => {
    capture[event.direction].push(event.bytes.slice());
    return tamper?.(event, capture);
  };
  return { capture, adversary };
}

/** Tamper with exactly one message: the `index`-th sent in `direction`. */
export function tamperOne(direction: Direction, index: number, action: (bytes: Uint8Array) => AdversaryAction | readonly AdversaryAction[]): Tamper {
  return (event) => (event.direction === direction && event.index === index ? action(event.bytes) : undefined);
}

/** A copy of `bytes` with bit `bit` of byte `index` flipped. */
export function flipBit(bytes: Uint8Array, index: number, bit = 0): Uint8Array {
  const out = bytes.slice();
  out[index] = (out[index] as number) ^ (1 << bit);
  return out;
}

/** The exact bytes of a clear status frame (REJECTED, RETRY_FULL, BUSY) as the vehicle sends it. */
export function clearStatus(status: number): Uint8Array {
  return encodeMessage(FrameSchema, { status });
}

/** The clear status carried by `bytes`, or undefined (the library's own helper). */
export { clearStatusOf } from '../../src/protocol/channel.js';

/** Drives `promise` on the world's clock and returns the typed error it must reject with. */
export async function expectTypedError(w: World, promise: Promise<unknown>): Promise<DigitalKeyError> {
  let caught: unknown;
  try {
    await w.run(promise);
  } catch (e) {
    caught = e;
  }
  expect(caught, 'the operation must fail').toBeDefined();
  expect(caught).toBeInstanceOf(DigitalKeyError);
  return caught as DigitalKeyError;
}

/** Drives the vehicle's serve() to its end: it must resolve (never reject) and leave no connection. */
export async function expectServeEnds(w: World, served: Promise<void>): Promise<void> {
  await expect(w.run(served)).resolves.toBeUndefined();
}

/** Audit events recorded from now on (in memory, via onAudit). */
export function auditTap(vehicle: Vehicle): AuditEvent[] {
  const events: AuditEvent[] = [];
  vehicle.onAudit((e) => events.push(e));
  return events;
}

/** A phone with options of the test's choosing, paired with (but not enrolled in) the world's vehicle. */
export async function makePhone(w: World, options: Partial<PhoneOptions> = {}): Promise<Phone> {
  const phone = new Phone({
    crypto: w.crypto,
    signer: options.signer ?? createSoftwareSigner(w.crypto),
    store: new PhoneStore(createMemoryVault()),
    clock: w.clock,
    ...options,
  });
  await phone.addVehicle({ ...w.vehicle.peer, name: 'test car' });
  return phone;
}

/** A signer that claims `publicKey` but signs with another key: the vehicle must see BAD_SIGNATURE. */
export function impostorSigner(w: World, publicKey: Uint8Array): Signer {
  const other = createSoftwareSigner(w.crypto);
  return { publicKey, sign: (m) => other.sign(m) };
}

/** Reads the phone's ticket for the world's vehicle without spending it. */
export async function peekTicket(phone: Phone, vehicleId: Uint8Array): Promise<StoredTicket | null> {
  const ticket = await phone.store.takeTicket(vehicleId);
  if (ticket) await phone.store.putTicket(vehicleId, ticket);
  return ticket;
}

/** A second vehicle ("car B") on the world's clock, with its own identity, store and record of executed commands. */
export interface OtherVehicle {
  vehicle: Vehicle;
  executed: Array<{ command: number; keyId: string }>;
  link(options?: Partial<MockLinkOptions>): { pair: MockLinkPair; served: Promise<void> };
}

/** Builds car B. */
export async function makeOtherVehicle(w: World, seed = 99, options: Partial<VehicleOptions> = {}): Promise<OtherVehicle> {
  const executed: OtherVehicle['executed'] = [];
  const record = (ctx: CommandContext) => {
    executed.push({ command: ctx.command, keyId: ctx.keyId });
  };
  const vehicle = await Vehicle.create({
    crypto: createNobleProvider({ randomBytes: seededRandom(seed) }),
    store: await openVehicleStore(createMemoryVault()),
    clock: w.clock,
    handlers: { [COMMAND.unlock]: record, [COMMAND.lock]: record, [COMMAND.trunk]: record, [COMMAND.start]: record },
    ...options,
  });
  return {
    vehicle,
    executed,
    link(linkOptions = {}) {
      const pair = createMockLinkPair({ clock: w.clock, ...linkOptions });
      return { pair, served: vehicle.serve(pair.vehicle) };
    },
  };
}

/**
 * Plays the phone's side as an attacker with no keys: waits for the challenge on `pair`, then
 * sends `auth` (e.g. a captured Auth) and returns what the vehicle answered. Resolves with
 * `null` if the vehicle closed the link without answering.
 */
export async function attackerSendsAfterChallenge(w: World, pair: MockLinkPair, auth: Uint8Array): Promise<{ challenge: Uint8Array; answer: Uint8Array | null }> {
  const run = async () => {
    const challenge = await pair.phone.receive({ timeoutMs: 10_000 });
    await pair.phone.send(auth);
    const answer = await pair.phone.receive({ timeoutMs: 10_000 }).catch(() => null);
    return { challenge, answer };
  };
  return w.run(run());
}

/** STATUS re-exported for terse test tables. */
export { STATUS };
