/**
 * Wire schemas of the owner management commands (docs/PROTOCOL.md §8.4). They travel as the
 * `data` of an ordinary command on an authenticated session; the vehicle refuses them from any
 * key that is not an owner.
 */
import { defineSchema, t } from '../wire/schema.js';
import { COMMAND_ID_MAX, KEY_ID_BYTES } from './constants.js';
import { GRANT_ID_BYTES } from './grant.js';

/** Keys listed per page of listKeys (keeps each Result well under the frame cap). */
export const KEYS_PER_PAGE = 10;
/** Audit records per page of readAudit. */
export const AUDIT_PER_PAGE = 20;

/** Argument naming one key. */
export interface KeyArg {
  keyId: Uint8Array;
  name?: string;
}
/** Schema of {@link KeyArg} (revokeKey, suspendKey, resumeKey, renameKey). */
export const KeyArgSchema = defineSchema<KeyArg>('KeyArg', {
  maxBytes: 64,
  fields: {
    keyId: { key: 0, type: t.bytes({ len: KEY_ID_BYTES }) },
    name: { key: 1, type: t.text({ min: 1, max: 32 }), optional: true },
  },
});

/** Argument of revokeGrant: the grant id, and its expiry (seconds) so the id is kept until then. */
export interface GrantArg {
  grantId: Uint8Array;
  notAfter?: number;
}
/** Schema of {@link GrantArg}. */
export const GrantArgSchema = defineSchema<GrantArg>('GrantArg', {
  maxBytes: 64,
  fields: {
    grantId: { key: 0, type: t.bytes({ len: GRANT_ID_BYTES }) },
    notAfter: { key: 1, type: t.uint({ max: 2 ** 40 }), optional: true },
  },
});

/** Argument of listKeys / readAudit: which page. */
export interface PageArg {
  offset?: number;
}
/** Schema of {@link PageArg}. */
export const PageArgSchema = defineSchema<PageArg>('PageArg', {
  maxBytes: 16,
  fields: { offset: { key: 0, type: t.uint({ max: 2 ** 32 }), optional: true } },
});

/** One key as listed to an owner. Times in seconds. */
export interface KeyInfo {
  keyId: Uint8Array;
  owner: boolean;
  name: string;
  suspended: boolean;
  commands?: number[];
  notBefore?: number;
  notAfter?: number;
  usesLeft?: number;
  grantId?: Uint8Array;
}
/** Schema of {@link KeyInfo}. */
export const KeyInfoSchema = defineSchema<KeyInfo>('KeyInfo', {
  maxBytes: 256,
  fields: {
    keyId: { key: 0, type: t.bytes({ len: KEY_ID_BYTES }) },
    owner: { key: 1, type: t.bool() },
    name: { key: 2, type: t.text({ max: 64 }) },
    suspended: { key: 3, type: t.bool() },
    commands: { key: 4, type: t.array(t.uint({ min: 1, max: COMMAND_ID_MAX }), { max: 32 }), optional: true },
    notBefore: { key: 5, type: t.uint({ max: 2 ** 40 }), optional: true },
    notAfter: { key: 6, type: t.uint({ max: 2 ** 40 }), optional: true },
    usesLeft: { key: 7, type: t.uint({ max: 2 ** 32 }), optional: true },
    grantId: { key: 8, type: t.bytes({ len: GRANT_ID_BYTES }), optional: true },
  },
});

/** A page of keys; `total` tells the owner whether to ask for the next page. */
export interface KeyPage {
  total: number;
  keys: KeyInfo[];
}
/** Schema of {@link KeyPage}. */
export const KeyPageSchema = defineSchema<KeyPage>('KeyPage', {
  maxBytes: 1900,
  fields: {
    total: { key: 0, type: t.uint({ max: 2 ** 32 }) },
    keys: { key: 1, type: t.array(t.map(KeyInfoSchema), { max: KEYS_PER_PAGE }) },
  },
});

/** One audit record as read by an owner. */
export interface AuditInfo {
  timeMs: number;
  keyId?: Uint8Array;
  command?: number;
  path?: string;
  outcome: string;
}
/** Schema of {@link AuditInfo}. */
export const AuditInfoSchema = defineSchema<AuditInfo>('AuditInfo', {
  maxBytes: 96,
  fields: {
    timeMs: { key: 0, type: t.uint() },
    keyId: { key: 1, type: t.bytes({ len: KEY_ID_BYTES }), optional: true },
    command: { key: 2, type: t.uint({ max: COMMAND_ID_MAX }), optional: true },
    path: { key: 3, type: t.text({ max: 8 }), optional: true },
    outcome: { key: 4, type: t.text({ max: 32 }) },
  },
});

/** A page of audit records, newest last. */
export interface AuditPage {
  total: number;
  records: AuditInfo[];
}
/** Schema of {@link AuditPage}. */
export const AuditPageSchema = defineSchema<AuditPage>('AuditPage', {
  maxBytes: 1900,
  fields: {
    total: { key: 0, type: t.uint({ max: 2 ** 32 }) },
    records: { key: 1, type: t.array(t.map(AuditInfoSchema), { max: AUDIT_PER_PAGE }) },
  },
});
