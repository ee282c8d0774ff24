/**
 * ble-digital-key: a phone as a car key over Bluetooth LE, with no server in the path.
 *
 * This is the core entry point: pure TypeScript on Uint8Array, no BLE stack and no Node-only
 * API, so it runs in React Native, browsers and Node alike. The mock link is in
 * `ble-digital-key/mock`, the node:crypto provider in `ble-digital-key/node`, and the BLE
 * adapters in `ble-digital-key/ble/noble` and `ble-digital-key/ble/bleno`.
 */
export * from './errors.js';
export * from './crypto/index.js';
export type { Clock, TimerHandle } from './transport/clock.js';
export { systemClock } from './transport/clock.js';
export type { Link, LinkCloseInfo, LinkOpOptions } from './transport/link.js';
export { fragment, Reassembler, framedSize, chunkCount } from './wire/framing.js';
export { defineSchema, decodeMessage, encodeMessage, t, type Schema } from './wire/schema.js';
export { APP_COMMAND_MIN, COMMAND, COMMAND_FLAG, MGMT_COMMAND, STATUS, STATUS_NAME, SUPPORTED_VERSIONS } from './protocol/constants.js';
export { keyIdOf } from './protocol/keyschedule.js';
export { issueGrant, decodeGrant, encodeShareBundle, decodeShareBundle, type GrantBody, type ShareBundle, type IssueGrantOptions } from './protocol/grant.js';
export type { Vault } from './store/vault.js';
export { createMemoryVault } from './store/memory-vault.js';
export { Vehicle, type VehicleOptions } from './vehicle/vehicle.js';
export {
  VaultVehicleStore,
  openVehicleStore,
  REQUEST_MEMORY_PER_KEY,
  REQUEST_MEMORY_PER_COMMAND,
  type VehicleStore,
  type StoredIdentity,
  type KeyRecord,
  type AuditEvent,
  type AuditQuery,
  type TicketRecord,
  type RevokedGrant,
  type RevokedKey,
  type RevocationChange,
  type RequestRecord,
} from './vehicle/store.js';
export type { CommandPolicy } from './vehicle/policy.js';
export { DEFAULT_POLICIES } from './vehicle/policy.js';
export type { CommandHandler, CommandContext } from './vehicle/run-handler.js';
export type { LinkInfo } from './vehicle/connection.js';
export { Phone, PhoneSession, expectOk, type CommandRequest, type CommandResult, type PhoneOptions, type ConnectOptions } from './phone/phone.js';
export { PhoneStore, type PairedVehicle, type StoredTicket } from './phone/store.js';
export { DEFAULT_RESUME_COMMANDS, type ResumeMode } from './phone/resume.js';
export { RESUME_WINDOW_MS, RESUME_MAX_TICKET_AGE_MS } from './protocol/resume.js';
export { makePairingRecord, type PairingWindowOptions } from './vehicle/pairing.js';
export type { PairOptions } from './phone/pairing.js';
export type { PhonePairOptions, ShareOptions } from './phone/phone.js';
export { MAX_AUDIT_READ, MAX_KEY_PAGES, type AuditEntry, type KeyEntry, type OwnerCallOptions, type ReadAuditOptions } from './phone/session-owner.js';
export { KeyArgSchema, GrantArgSchema, PageArgSchema, KeyPageSchema, AuditPageSchema, type KeyInfo, type AuditInfo } from './protocol/management.js';
