/**
 * Error codes of the BLE adapters (docs/BLE.md §Errors). Stable: applications switch on them.
 * Link operations themselves use the shared codes of src/transport/link-op.ts (`LINK_CLOSED`,
 * `LINK_TIMEOUT`, …) so a BLE link fails exactly like the mock.
 */
export const BleErrorCode = {
  /**
   * No usable BLE stack: the optional peer dependency is missing, its native part is not built,
   * or the machine has no Bluetooth adapter / kernel support (EAFNOSUPPORT). TransportError,
   * not retryable.
   */
  unavailable: 'BLE_UNAVAILABLE',
  /** The adapter is not powered on (off, unauthorized, unsupported). TransportError. */
  adapterState: 'BLE_ADAPTER_STATE',
  /** No paired vehicle was seen before the scan timeout. TimeoutError. */
  scanTimeout: 'BLE_SCAN_TIMEOUT',
  /** The connection could not be made, or dropped while it was being set up. TransportError. */
  connectFailed: 'BLE_CONNECT_FAILED',
  /** A GATT operation got no answer in time (noble never settles a write that got an ATT error). TimeoutError. */
  gattTimeout: 'BLE_GATT_TIMEOUT',
  /** A GATT operation failed (the stack reported an error). TransportError. */
  gattFailed: 'BLE_GATT_FAILED',
  /** The peripheral lacks the service or a characteristic, or their properties are wrong. ProtocolError. */
  profileMismatch: 'BLE_PROFILE_MISMATCH',
  /** The info value is malformed. ProtocolError. */
  badInfo: 'BLE_BAD_INFO',
  /** The vehicle speaks no protocol version this library does. ProtocolError. */
  versionMismatch: 'BLE_VERSION_MISMATCH',
  /** The MTU the stack gave a subscription is smaller than the one the vehicle announced. TransportError. */
  mtuMismatch: 'BLE_MTU_MISMATCH',
  /** An option is malformed. UsageError. */
  badOptions: 'BLE_BAD_OPTIONS',
} as const;
