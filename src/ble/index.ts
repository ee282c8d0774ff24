/**
 * `ble-digital-key/ble`: the platform-neutral BLE layer (docs/BLE.md §Platform adapters). No
 * Node API and no BLE stack, so Metro and browser bundlers take it as is.
 *
 * - the GATT profile: UUIDs, the info characteristic's schema, the advertising payload;
 * - pseudonym computation and scan-time matching ({@link PseudonymResolver}, advert.ts), and
 *   {@link runScan}, a scan's deadline, abort and guaranteed stop;
 * - {@link ChunkLink}, the chunked-GATT Link, and {@link openGattLink}, the phone's GATT client
 *   over a tiny {@link GattPort} that each platform adapter maps onto its API;
 * - retry with backoff and the stable BLE error codes.
 *
 * The platform adapters are separate entries: `ble-digital-key/ble/react-native`,
 * `ble-digital-key/ble/web`, and (Node) `ble-digital-key/ble/noble` / `ble-digital-key/ble/bleno`.
 */

export { BleErrorCode } from './codes.js';
export { withBackoff, backoffDelayMs, isRetryable, type BackoffOptions } from './backoff.js';
export { ChunkLink, type BleLink, type BleLinkStats, type ChunkLinkOptions } from './chunk-link.js';
export { openGattLink, DEFAULT_GATT_TIMEOUT_MS, type GattLink, type GattLinkOptions, type GattPort } from './gatt-client.js';
export { GattOps, type GattOpOptions, type GattSettle, type GattStart } from './gatt-op.js';
export { advertisesDigitalKey, isPairingCandidate, vehicleOfAdvertisement, type ScannedAdvertisement } from './advert.js';
export { runScan, type ScanRun } from './scan.js';
export { toBase64, fromBase64 } from './base64.js';
export * from './profile.js';
export {
  PseudonymResolver,
  PSEUDONYM_LABEL,
  PSEUDONYM_SKEW_SLOTS,
  MIN_ADVERTISING_KEY_BYTES,
  computePseudonym,
  currentPseudonym,
  nextRotationAtMs,
  pseudonymSlot,
  resolvePseudonym,
} from './pseudonym.js';
