/**
 * Recognising a digital-key car in a scan report, whatever stack scanned it (docs/BLE.md
 * §Advertising). Scan reports are attacker-controlled: anything malformed is simply not a match.
 *
 * Pure.
 */

import type { PairedVehicle } from '../phone/store.js';
import { DEFAULT_COMPANY_ID, DK_SERVICE_UUID, compactUuid, pseudonymFromManufacturerData } from './profile.js';
import type { PseudonymResolver } from './pseudonym.js';

/** A scan report reduced to what matching needs. */
export interface ScannedAdvertisement {
  /** Service UUIDs in the advertisement, in any case, with or without dashes. */
  serviceUuids?: readonly unknown[] | null;
  /** Manufacturer-specific data: `companyId (LE) ‖ payload`. */
  manufacturerData?: Uint8Array | null;
  /** False when the advertiser said it takes no connections. */
  connectable?: boolean | null;
}

const SERVICE = compactUuid(DK_SERVICE_UUID);

/** Whether the report advertises the digital-key service and takes connections. */
export function advertisesDigitalKey(ad: ScannedAdvertisement): boolean {
  if (ad === null || typeof ad !== 'object' || ad.connectable === false) return false;
  const uuids = Array.isArray(ad.serviceUuids) ? ad.serviceUuids : [];
  return uuids.some((u) => typeof u === 'string' && u.replace(/-/g, '').toLowerCase() === SERVICE);
}

/**
 * The paired vehicle whose current pseudonym the report carries, or null. Never throws.
 */
export function vehicleOfAdvertisement(
  ad: ScannedAdvertisement,
  resolver: PseudonymResolver,
  nowMs: number,
  companyId: number = DEFAULT_COMPANY_ID,
): PairedVehicle | null {
  try {
    if (!advertisesDigitalKey(ad)) return null;
    const pseudonym = pseudonymFromManufacturerData(ad.manufacturerData, companyId);
    return pseudonym === null ? null : resolver.resolve(pseudonym, nowMs);
  } catch {
    return null;
  }
}

/**
 * Whether the report is a digital-key car this phone may pair with: it advertises the service
 * with a well-formed pseudonym that resolves to none of the vehicles `known` holds (null: the
 * phone knows none). Never throws.
 */
export function isPairingCandidate(
  ad: ScannedAdvertisement,
  known: PseudonymResolver | null,
  nowMs: number,
  companyId: number = DEFAULT_COMPANY_ID,
): boolean {
  try {
    if (!advertisesDigitalKey(ad)) return false;
    if (pseudonymFromManufacturerData(ad.manufacturerData, companyId) === null) return false;
    return known === null || vehicleOfAdvertisement(ad, known, nowMs, companyId) === null;
  } catch {
    return false;
  }
}
