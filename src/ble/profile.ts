/**
 * The GATT profile and advertising format of ble-digital-key (docs/BLE.md §Profile).
 *
 * One primary service with three characteristics:
 * - `toVehicle` (phone writes, with or without response): chunks of phone → vehicle messages;
 * - `toPhone` (vehicle notifies): chunks of vehicle → phone messages;
 * - `info` (read only): a tiny CBOR map with the protocol versions, the largest message the
 *   vehicle accepts and the ATT MTU the vehicle negotiated with this central.
 *
 * Messages are framed with the shared fragmenter (src/wire/framing.ts) in chunks of `mtu − 3`
 * bytes. Advertising carries the service UUID and a rotating 6-byte pseudonym in manufacturer
 * data; never a name, a VIN or the vehicle id.
 *
 * Pure: no BLE stack, no Node API. The adapters in noble.ts and bleno.ts build on it.
 */

import { DEFAULT_ATT_MTU, MAX_ATT_MTU, MAX_MESSAGE_BYTES } from '../constants.js';
import { CodecError, ProtocolError, UsageError } from '../errors.js';
import { decodeMessage, defineSchema, encodeMessage, t } from '../wire/schema.js';

// ---------------------------------------------------------------------------------------------
// UUIDs. Chosen once at random (v4) for this protocol; the characteristics differ from the
// service in the first group only, so they are easy to recognise in a sniffer trace.
// ---------------------------------------------------------------------------------------------

/** The ble-digital-key primary service. */
export const DK_SERVICE_UUID = '406c7349-7467-4fb6-bc60-b8fdc78b1db6';
/** Phone → vehicle chunks: properties write and write-without-response. */
export const DK_TO_VEHICLE_UUID = '406c734a-7467-4fb6-bc60-b8fdc78b1db6';
/** Vehicle → phone chunks: property notify. */
export const DK_TO_PHONE_UUID = '406c734b-7467-4fb6-bc60-b8fdc78b1db6';
/** Profile info ({@link BleInfo}): property read. */
export const DK_INFO_UUID = '406c734c-7467-4fb6-bc60-b8fdc78b1db6';

/** GATT properties of each characteristic, in bleno's and noble's vocabulary. */
export const DK_PROPERTIES = Object.freeze({
  toVehicle: Object.freeze(['write', 'writeWithoutResponse'] as const),
  toPhone: Object.freeze(['notify'] as const),
  info: Object.freeze(['read'] as const),
});

/**
 * Largest value one GATT write or notification carries in this profile, in bytes: the Core
 * spec's attribute value limit (Core v5.4 Vol 3 Part F §3.2.9), which Web Bluetooth enforces.
 * An ATT MTU of 517 would allow 514-byte notifications, so links run at most at MTU
 * {@link MAX_LINK_MTU}.
 */
export const MAX_GATT_VALUE_BYTES = 512;

/** Largest ATT MTU a link cuts chunks for: {@link MAX_GATT_VALUE_BYTES} plus the 3-byte ATT header. */
export const MAX_LINK_MTU = MAX_GATT_VALUE_BYTES + 3;

/**
 * A UUID as noble and bleno spell it: lower case, no dashes (`406c7349746…`). Both libraries
 * compare UUIDs as such strings.
 */
export function compactUuid(uuid: string): string {
  if (typeof uuid !== 'string' || !/^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/.test(uuid)) {
    throw new UsageError('BLE_BAD_UUID', '"uuid" must be a 128-bit UUID');
  }
  return uuid.replace(/-/g, '').toLowerCase();
}

/** 16 bytes of a 128-bit UUID in the little-endian order advertising data uses (Core v5.4 Vol 3 Part C §11). */
export function uuidBytesLittleEndian(uuid: string): Uint8Array {
  const hex = compactUuid(uuid);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[15 - i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Info characteristic.
// ---------------------------------------------------------------------------------------------

/** Content of the info characteristic. */
export interface BleInfo {
  /** Protocol versions the vehicle speaks (docs/PROTOCOL.md §2), highest first. */
  versions: number[];
  /** Largest whole message the vehicle accepts, in bytes. */
  maxMessageBytes: number;
  /**
   * ATT MTU the vehicle negotiated with the central that reads this (Core v5.4 Vol 3 Part F
   * §3.4.2). Both ends chunk at `attMtu − 3`; a phone whose stack hides the MTU (noble on macOS)
   * learns it here.
   */
  attMtu: number;
}

/** Largest encoded info value, in bytes: it must fit one ATT read at the default MTU (23 − 1). */
export const MAX_BLE_INFO_BYTES = DEFAULT_ATT_MTU - 1;

/** Strict schema of {@link BleInfo}: CBOR map {0: [versions], 1: maxMessageBytes, 2: attMtu}. */
export const BleInfoSchema = defineSchema<BleInfo>('BleInfo', {
  maxBytes: MAX_BLE_INFO_BYTES,
  fields: {
    versions: { key: 0, type: t.array(t.uint({ min: 1, max: 255 }), { min: 1, max: 4 }) },
    maxMessageBytes: { key: 1, type: t.uint({ min: 1, max: MAX_MESSAGE_BYTES }) },
    attMtu: { key: 2, type: t.uint({ min: DEFAULT_ATT_MTU, max: MAX_ATT_MTU }) },
  },
});

/** Encodes the info value. @throws UsageError if a field is out of range. */
export function encodeBleInfo(info: BleInfo): Uint8Array {
  return encodeMessage(BleInfoSchema, info);
}

/**
 * Decodes an info value read from a vehicle.
 *
 * @throws ProtocolError `BLE_BAD_INFO` on anything but a canonical, in-range value.
 */
export function decodeBleInfo(bytes: Uint8Array): BleInfo {
  try {
    return decodeMessage(BleInfoSchema, bytes);
  } catch (err) {
    if (err instanceof CodecError) throw new ProtocolError('BLE_BAD_INFO', 'the vehicle sent a malformed info value', { cause: err });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Advertising (docs/BLE.md §Advertising).
// ---------------------------------------------------------------------------------------------

/** Bytes of the advertised pseudonym: what fits next to the flags and the 128-bit service UUID. */
export const PSEUDONYM_BYTES = 6;
/** Default pseudonym rotation period, in ms (5 minutes). */
export const DEFAULT_PSEUDONYM_ROTATION_MS = 300_000;
/** Shortest rotation period accepted, in ms: shorter ones only cost CPU and scan reliability. */
export const MIN_PSEUDONYM_ROTATION_MS = 10_000;
/**
 * Default company identifier in the manufacturer data: 0xFFFF, which the Bluetooth SIG reserves
 * for tests. A shipping product must use its own assigned identifier (docs/BLE.md §Advertising).
 */
export const DEFAULT_COMPANY_ID = 0xffff;
/** Largest legacy advertising payload, in bytes (Core v5.4 Vol 6 Part B §2.3.1.1). */
export const MAX_ADVERTISING_DATA_BYTES = 31;

/** AD types used (Bluetooth Assigned Numbers §2.3). */
const AD_FLAGS = 0x01;
const AD_COMPLETE_128BIT_UUIDS = 0x07;
const AD_MANUFACTURER_DATA = 0xff;
/** LE General Discoverable, BR/EDR not supported. */
const FLAGS_LE_GENERAL_NO_BREDR = 0x06;

/** Throws UsageError unless `companyId` is a 16-bit integer. */
function checkCompanyId(companyId: number): void {
  if (!Number.isSafeInteger(companyId) || companyId < 0 || companyId > 0xffff) {
    throw new UsageError('BLE_BAD_OPTIONS', '"companyId" must be an integer in [0, 65535]');
  }
}

/**
 * The 31-byte advertising payload: Flags (3 bytes), the complete list of 128-bit service UUIDs
 * holding {@link DK_SERVICE_UUID} (18 bytes), and manufacturer data `companyId (LE) ‖ pseudonym`
 * (10 bytes). No local name: a name would be a static identifier.
 *
 * @throws UsageError unless `pseudonym` is PSEUDONYM_BYTES bytes and `companyId` a 16-bit integer.
 */
export function encodeAdvertisingData(pseudonym: Uint8Array, companyId: number = DEFAULT_COMPANY_ID): Uint8Array {
  if (!(pseudonym instanceof Uint8Array) || pseudonym.length !== PSEUDONYM_BYTES) {
    throw new UsageError('BLE_BAD_PSEUDONYM', `"pseudonym" must be ${PSEUDONYM_BYTES} bytes`);
  }
  checkCompanyId(companyId);
  const uuid = uuidBytesLittleEndian(DK_SERVICE_UUID);
  const out = new Uint8Array(MAX_ADVERTISING_DATA_BYTES);
  let o = 0;
  out.set([2, AD_FLAGS, FLAGS_LE_GENERAL_NO_BREDR], o);
  o += 3;
  out.set([1 + uuid.length, AD_COMPLETE_128BIT_UUIDS], o);
  out.set(uuid, o + 2);
  o += 2 + uuid.length;
  out.set([1 + 2 + PSEUDONYM_BYTES, AD_MANUFACTURER_DATA, companyId & 0xff, companyId >>> 8], o);
  out.set(pseudonym, o + 4);
  return out;
}

/**
 * The pseudonym in a scanned manufacturer-data field (`companyId (LE) ‖ pseudonym`, as noble
 * reports `advertisement.manufacturerData`), or null when the field is absent, from another
 * company, or the wrong length. Never throws: advertisements are attacker-controlled.
 */
export function pseudonymFromManufacturerData(data: unknown, companyId: number = DEFAULT_COMPANY_ID): Uint8Array | null {
  if (!(data instanceof Uint8Array) || data.length !== 2 + PSEUDONYM_BYTES) return null;
  if (((data[0] ?? 0) | ((data[1] ?? 0) << 8)) !== companyId) return null;
  return Uint8Array.from(data.subarray(2));
}
