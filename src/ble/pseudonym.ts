/**
 * Rotating advertising pseudonym (docs/BLE.md §Advertising and privacy).
 *
 *   slot      = floor(unixMs / rotationMs)
 *   pseudonym = HMAC-SHA256(advertisingKey, "DK1 adv" ‖ u64be(slot))[0..6)
 *
 * The advertising key is shared with key holders only (Vehicle.advertisingKey, in pairing
 * results and share bundles), so a paired phone recognises its car among many while a bystander
 * sees an unlinkable random-looking value that changes every `rotationMs`. HMAC-SHA256 as a PRF
 * makes pseudonyms of different slots independent for anyone without the key.
 *
 * Pure: time is passed in, crypto goes through the injected CryptoProvider.
 */

import type { CryptoProvider } from '../crypto/provider.js';
import { concatBytes, equalBytes, u64be, utf8 } from '../crypto/bytes.js';
import { UsageError } from '../errors.js';
import type { PairedVehicle } from '../phone/store.js';
import { DEFAULT_PSEUDONYM_ROTATION_MS, MIN_PSEUDONYM_ROTATION_MS, PSEUDONYM_BYTES } from './profile.js';

/** HMAC input prefix: domain separation from every other use of the advertising key. */
export const PSEUDONYM_LABEL = 'DK1 adv';
/** Shortest advertising key accepted, in bytes (Vehicle.advertisingKey is 32). */
export const MIN_ADVERTISING_KEY_BYTES = 16;
/**
 * Slots either side of the current one that {@link resolvePseudonym} also accepts: absorbs clock
 * skew between phone and car and a rotation that happens while the phone scans.
 */
export const PSEUDONYM_SKEW_SLOTS = 1;

/** Throws UsageError unless `rotationMs` is an integer ≥ MIN_PSEUDONYM_ROTATION_MS. */
export function checkRotationMs(rotationMs: number): void {
  if (!Number.isSafeInteger(rotationMs) || rotationMs < MIN_PSEUDONYM_ROTATION_MS) {
    throw new UsageError('BLE_BAD_OPTIONS', `"rotationMs" must be an integer ≥ ${MIN_PSEUDONYM_ROTATION_MS}`);
  }
}

/** Throws UsageError unless `nowMs` is a non-negative Unix time in ms. */
function checkNowMs(nowMs: number): void {
  if (typeof nowMs !== 'number' || !Number.isFinite(nowMs) || nowMs < 0) {
    throw new UsageError('BLE_BAD_TIME', '"nowMs" must be a Unix time in ms (finite, ≥ 0)');
  }
}

/**
 * The rotation slot of `nowMs`.
 *
 * @throws UsageError on a negative or non-finite time or a bad rotation period.
 */
export function pseudonymSlot(nowMs: number, rotationMs: number = DEFAULT_PSEUDONYM_ROTATION_MS): number {
  checkNowMs(nowMs);
  checkRotationMs(rotationMs);
  return Math.floor(nowMs / rotationMs);
}

/** Unix time in ms at which the slot after the one of `nowMs` starts: when to re-advertise. */
export function nextRotationAtMs(nowMs: number, rotationMs: number = DEFAULT_PSEUDONYM_ROTATION_MS): number {
  return (pseudonymSlot(nowMs, rotationMs) + 1) * rotationMs;
}

/**
 * The pseudonym of `slot` under `advertisingKey`: 6 bytes.
 *
 * @throws UsageError if the key is shorter than 16 bytes or the slot not a safe integer ≥ 0.
 */
export function computePseudonym(crypto: CryptoProvider, advertisingKey: Uint8Array, slot: number): Uint8Array {
  if (!(advertisingKey instanceof Uint8Array) || advertisingKey.length < MIN_ADVERTISING_KEY_BYTES) {
    throw new UsageError('BLE_BAD_ADVERTISING_KEY', `"advertisingKey" must be at least ${MIN_ADVERTISING_KEY_BYTES} bytes`);
  }
  if (!Number.isSafeInteger(slot) || slot < 0) {
    throw new UsageError('BLE_BAD_SLOT', '"slot" must be a safe integer ≥ 0');
  }
  const mac = crypto.hmacSha256(advertisingKey, concatBytes(utf8(PSEUDONYM_LABEL), u64be(slot)));
  const out = mac.slice(0, PSEUDONYM_BYTES);
  mac.fill(0);
  return out;
}

/** The pseudonym a vehicle advertises at `nowMs`. */
export function currentPseudonym(
  crypto: CryptoProvider,
  advertisingKey: Uint8Array,
  nowMs: number,
  rotationMs: number = DEFAULT_PSEUDONYM_ROTATION_MS,
): Uint8Array {
  return computePseudonym(crypto, advertisingKey, pseudonymSlot(nowMs, rotationMs));
}

/**
 * Finds the paired vehicle advertising `pseudonym` at `nowMs`: the first of `vehicles` (those
 * with an advertising key) whose pseudonym for the current slot or a neighbouring one matches.
 * Returns null when none does, or when `pseudonym` is not 6 bytes (scanned data is untrusted
 * and never makes this throw).
 *
 * A match only says which car to connect to: the handshake still authenticates the vehicle, so
 * a forged or colliding pseudonym costs a failed connection, nothing more.
 *
 * @throws UsageError on a bad time or rotation period (the caller's values, not the peer's).
 */
export function resolvePseudonym(
  crypto: CryptoProvider,
  pseudonym: unknown,
  vehicles: readonly PairedVehicle[],
  nowMs: number,
  rotationMs: number = DEFAULT_PSEUDONYM_ROTATION_MS,
): PairedVehicle | null {
  const slot = pseudonymSlot(nowMs, rotationMs);
  if (!(pseudonym instanceof Uint8Array) || pseudonym.length !== PSEUDONYM_BYTES) return null;
  for (const vehicle of vehicles) {
    const key = vehicle.advertisingKey;
    if (!(key instanceof Uint8Array) || key.length < MIN_ADVERTISING_KEY_BYTES) continue;
    for (let d = -PSEUDONYM_SKEW_SLOTS; d <= PSEUDONYM_SKEW_SLOTS; d++) {
      if (slot + d < 0) continue;
      if (equalBytes(computePseudonym(crypto, key, slot + d), pseudonym)) return vehicle;
    }
  }
  return null;
}

/**
 * A scan-time cache of {@link resolvePseudonym}: the expected pseudonyms of every vehicle for the
 * current slot ±1, recomputed only when the slot changes, so a scanner that sees dozens of
 * advertisements per second computes 3 HMACs per vehicle per rotation, not per report.
 */
export class PseudonymResolver {
  readonly #crypto: CryptoProvider;
  readonly #vehicles: readonly PairedVehicle[];
  readonly #rotationMs: number;
  #slot = -1;
  #table = new Map<string, PairedVehicle>();

  /** @throws UsageError on a bad rotation period. */
  constructor(crypto: CryptoProvider, vehicles: readonly PairedVehicle[], rotationMs: number = DEFAULT_PSEUDONYM_ROTATION_MS) {
    checkRotationMs(rotationMs);
    this.#crypto = crypto;
    this.#vehicles = [...vehicles];
    this.#rotationMs = rotationMs;
  }

  /** The vehicle advertising `pseudonym` at `nowMs`, or null. Never throws on scanned input. */
  resolve(pseudonym: unknown, nowMs: number): PairedVehicle | null {
    const slot = pseudonymSlot(nowMs, this.#rotationMs);
    if (slot !== this.#slot) this.#rebuild(slot);
    if (!(pseudonym instanceof Uint8Array) || pseudonym.length !== PSEUDONYM_BYTES) return null;
    return this.#table.get(hexOf(pseudonym)) ?? null;
  }

  /** Recomputes the table for `slot`; the first vehicle wins a (vanishingly unlikely) collision. */
  #rebuild(slot: number): void {
    const table = new Map<string, PairedVehicle>();
    for (const vehicle of this.#vehicles) {
      const key = vehicle.advertisingKey;
      if (!(key instanceof Uint8Array) || key.length < MIN_ADVERTISING_KEY_BYTES) continue;
      for (let d = -PSEUDONYM_SKEW_SLOTS; d <= PSEUDONYM_SKEW_SLOTS; d++) {
        if (slot + d < 0) continue;
        const name = hexOf(computePseudonym(this.#crypto, key, slot + d));
        if (!table.has(name)) table.set(name, vehicle);
      }
    }
    this.#slot = slot;
    this.#table = table;
  }
}

/** Lower-case hex of a short public value (a map key; pseudonyms are not secret). */
function hexOf(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
