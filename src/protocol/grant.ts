/**
 * Offline key sharing (docs/PROTOCOL.md §8): an owner's phone signs a grant for a friend's
 * phone key; the friend presents it in its first full Auth; the vehicle checks it against its
 * own registry and clock with no server. A grant may be re-shared only if it says so, chains
 * are at most MAX_GRANT_CHAIN long, and rights only ever narrow along a chain.
 *
 * A {@link ShareBundle} is what travels to the friend (bytes, base64url, or a QR code): the
 * grant chain plus the vehicle's id and public key, which the friend needs to talk to the car.
 */
import type { CryptoProvider, Signer } from '../crypto/provider.js';
import { base64urlDecode, base64urlEncode, concatBytes, utf8 } from '../crypto/bytes.js';
import { UsageError } from '../errors.js';
import { decodeMessage, defineSchema, encodeMessage, t } from '../wire/schema.js';
import { COMMAND_ID_MAX, KEY_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, VEHICLE_ID_BYTES } from './constants.js';
import { keyIdOf } from './keyschedule.js';
import { MAX_GRANT_BYTES, MAX_GRANT_CHAIN } from './messages.js';

/** Grant id length, bytes. */
export const GRANT_ID_BYTES = 16;
/** Label prefixed to the bytes an issuer signs. */
export const GRANT_SIGNATURE_LABEL = 'DK1 grant';

/** The signed content of a grant. Times are seconds since the Unix epoch (compact for QR codes). */
export interface GrantBody {
  grantId: Uint8Array;
  vehicleId: Uint8Array;
  /** The friend's phone public key (compressed). */
  subjectKey: Uint8Array;
  issuerKeyId: Uint8Array;
  /** Command ids the friend may send. */
  commands: number[];
  notBefore: number;
  notAfter: number;
  /** Command executions allowed in total, if limited. */
  useLimit?: number;
  /** Whether the friend may share onwards (with rights no wider than these). */
  canShare?: boolean;
  /** Display name for the key list. */
  name?: string;
}
/**
 * Schema of {@link GrantBody}. The body is signed bytes, so every value has exactly one encoding:
 * `commands` is strictly ascending (no duplicates) and `canShare` is either absent or `true`;
 * anything else is refused (CODEC_UNSORTED, CODEC_RANGE) and the vehicle audits GRANT_MALFORMED.
 */
export const GrantBodySchema = defineSchema<GrantBody>('GrantBody', {
  maxBytes: MAX_GRANT_BYTES - SIGNATURE_BYTES - 8,
  fields: {
    grantId: { key: 0, type: t.bytes({ len: GRANT_ID_BYTES }) },
    vehicleId: { key: 1, type: t.bytes({ len: VEHICLE_ID_BYTES }) },
    subjectKey: { key: 2, type: t.bytes({ len: PUBLIC_KEY_BYTES }) },
    issuerKeyId: { key: 3, type: t.bytes({ len: KEY_ID_BYTES }) },
    commands: { key: 4, type: t.array(t.uint({ min: 1, max: COMMAND_ID_MAX }), { min: 1, max: 32, ascending: true }) },
    notBefore: { key: 5, type: t.uint({ max: 2 ** 40 }) },
    notAfter: { key: 6, type: t.uint({ max: 2 ** 40 }) },
    useLimit: { key: 7, type: t.uint({ min: 1, max: 2 ** 32 }), optional: true },
    canShare: { key: 8, type: t.bool({ trueOnly: true }), optional: true },
    name: { key: 9, type: t.text({ max: 32 }), optional: true },
  },
});

/** A signed grant: the encoded body and the issuer's ECDSA signature over label ‖ body. */
export interface GrantMsg {
  body: Uint8Array;
  signature: Uint8Array;
}
/** Schema of {@link GrantMsg}. */
export const GrantSchema = defineSchema<GrantMsg>('Grant', {
  maxBytes: MAX_GRANT_BYTES,
  fields: {
    body: { key: 0, type: t.bytes({ min: 1, max: MAX_GRANT_BYTES - SIGNATURE_BYTES - 8 }) },
    signature: { key: 1, type: t.bytes({ len: SIGNATURE_BYTES }) },
  },
});

/** What a friend imports: the grant chain (owner's grant first) and the vehicle to talk to. */
export interface ShareBundle {
  vehicleId: Uint8Array;
  vehiclePublicKey: Uint8Array;
  grants: Uint8Array[];
  /** Key to recognise the car's rotating advertising pseudonym (docs/BLE.md). */
  advertisingKey?: Uint8Array;
}
/** Schema of {@link ShareBundle}. */
export const ShareBundleSchema = defineSchema<ShareBundle>('ShareBundle', {
  maxBytes: 64 + MAX_GRANT_CHAIN * (MAX_GRANT_BYTES + 4),
  fields: {
    vehicleId: { key: 0, type: t.bytes({ len: VEHICLE_ID_BYTES }) },
    vehiclePublicKey: { key: 1, type: t.bytes({ len: PUBLIC_KEY_BYTES }) },
    grants: { key: 2, type: t.array(t.bytes({ min: 1, max: MAX_GRANT_BYTES }), { min: 1, max: MAX_GRANT_CHAIN }) },
    advertisingKey: { key: 3, type: t.bytes({ len: 32 }), optional: true },
  },
});

/** Options of {@link issueGrant}. Times in ms since the Unix epoch (rounded to seconds on the wire). */
export interface IssueGrantOptions {
  vehicleId: Uint8Array;
  subjectKey: Uint8Array;
  commands: number[];
  notBeforeMs: number;
  notAfterMs: number;
  useLimit?: number;
  canShare?: boolean;
  name?: string;
  /** Fixed grant id (test vectors); random otherwise. */
  grantId?: Uint8Array;
}

/** The bytes an issuer signs: label ‖ encoded body. */
export function grantSignaturePayload(body: Uint8Array): Uint8Array {
  return concatBytes(utf8(GRANT_SIGNATURE_LABEL), body);
}

/**
 * Signs a grant with the issuer's device key (owner, or a friend whose grant allows sharing).
 * The vehicle, not this function, decides whether the issuer may grant these rights.
 */
export async function issueGrant(crypto: CryptoProvider, issuer: Signer, options: IssueGrantOptions): Promise<Uint8Array> {
  const notBefore = Math.floor(options.notBeforeMs / 1000);
  const notAfter = Math.ceil(options.notAfterMs / 1000);
  if (!(notAfter > notBefore)) throw new UsageError('BAD_VALIDITY', '"notAfterMs" must be after "notBeforeMs"');
  const body: GrantBody = {
    grantId: options.grantId ?? crypto.randomBytes(GRANT_ID_BYTES),
    vehicleId: options.vehicleId,
    subjectKey: crypto.validatePublicKey(options.subjectKey),
    issuerKeyId: keyIdOf(crypto, issuer.publicKey),
    commands: [...new Set(options.commands)].sort((a, b) => a - b),
    notBefore,
    notAfter,
    ...(options.useLimit !== undefined ? { useLimit: options.useLimit } : {}),
    ...(options.canShare ? { canShare: true } : {}),
    ...(options.name ? { name: options.name } : {}),
  };
  const bodyBytes = encodeMessage(GrantBodySchema, body);
  const signature = await issuer.sign(grantSignaturePayload(bodyBytes));
  return encodeMessage(GrantSchema, { body: bodyBytes, signature });
}

/** Decodes a grant and its body (strict codec; CodecError on anything malformed). */
export function decodeGrant(bytes: Uint8Array): { grant: GrantMsg; body: GrantBody } {
  const grant = decodeMessage(GrantSchema, bytes);
  return { grant, body: decodeMessage(GrantBodySchema, grant.body) };
}

/** Encodes a share bundle as base64url text (for a link or a QR code). */
export function encodeShareBundle(bundle: ShareBundle): string {
  return base64urlEncode(encodeMessage(ShareBundleSchema, bundle));
}

/** Decodes a share bundle from base64url text or bytes. */
export function decodeShareBundle(input: string | Uint8Array): ShareBundle {
  const bytes = typeof input === 'string' ? base64urlDecode(input) : input;
  return decodeMessage(ShareBundleSchema, bytes);
}
