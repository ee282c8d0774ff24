/**
 * Finds the phone key behind a full Auth: by map lookup of its key id in the registry, or, on a
 * friend's first use, by checking the grant chain it carries (docs/PROTOCOL.md §8.3).
 *
 * Every refusal carries an internal reason for the audit log; the phone only ever sees the
 * generic REJECTED, so it cannot tell an unknown key from a bad grant or signature.
 */
import { equalBytes, toHex } from '../crypto/bytes.js';
import { decodeGrant, grantSignaturePayload, type GrantBody } from '../protocol/grant.js';
import { keyIdOf } from '../protocol/keyschedule.js';
import { MAX_GRANT_CHAIN } from '../protocol/messages.js';
import { STATUS } from '../protocol/constants.js';
import { verifyFullAuth, type OpenedFullAuth } from '../protocol/vehicle-handshake.js';
import { Refusal } from './refusal.js';
import type { KeyRecord } from './store.js';
import type { Vehicle } from './vehicle.js';

/**
 * Authenticates a full Auth: a known key by map lookup and its signature; a friend's first use
 * by its grant chain, judged UNDER THE REGISTRY LOCK against current records (every issuer
 * enrolled or chained, unsuspended, valid now, none revoked) and enrolled in the same critical
 * section, so a revocation running concurrently lands either before (refused) or after (the new
 * key is revoked with the chain). Throws {@link Refusal} with the reason.
 */
export async function authenticateFull(vehicle: Vehicle, opened: OpenedFullAuth): Promise<KeyRecord> {
  const { store, crypto } = vehicle.config;
  const keyId = opened.body.keyId;
  const checkSignature = (publicKey: Uint8Array) => {
    if (!verifyFullAuth(crypto, opened, publicKey)) throw new Refusal(STATUS.rejected, 'BAD_SIGNATURE', toHex(keyId));
  };
  const known = store.getKey(keyId);
  if (known) {
    checkSignature(known.publicKey);
    return known;
  }
  const grants = opened.body.grants;
  if (!grants) {
    // Do the work an enrolled key would cost, so the reply time does not tell an unknown key
    // from a bad signature (docs/THREAT-MODEL.md: no oracle).
    decoyVerify(vehicle);
    throw new Refusal(STATUS.rejected, 'UNKNOWN_KEY', toHex(keyId));
  }
  return vehicle.exclusive(async () => {
    // A second link may have enrolled the same key meanwhile: use its record (uses counted once).
    const existing = store.getKey(keyId);
    if (existing) {
      checkSignature(existing.publicKey);
      return existing;
    }
    const record = verifyGrantChain(vehicle, grants, keyId);
    checkSignature(record.publicKey);
    await store.putKey(record);
    return record;
  });
}

/** One signature verification whose result is ignored: equalises refusal timing. */
export function decoyVerify(vehicle: Vehicle): void {
  const { crypto } = vehicle.config;
  crypto.verify(vehicle.identity.publicKey, DECOY_MESSAGE, DECOY_SIGNATURE);
}
const DECOY_MESSAGE = new Uint8Array(32);
const DECOY_SIGNATURE = new Uint8Array(64).fill(1);

/** Rights of a link in the chain, used to check that each grant only narrows them. */
interface Rights {
  keyId: Uint8Array;
  publicKey: Uint8Array;
  commands: number[] | null;
  notBefore: number;
  notAfter: number;
  usesLeft: number | undefined;
  canShare: boolean;
  depth: number;
  /** Ancestry of this link (hex ids), carried into the enrolled record for cascading revocation. */
  chainGrantIds: string[];
  chainIssuerIds: string[];
}

/**
 * Checks a grant chain offline: the first issuer is an enrolled key allowed to share; each
 * grant is signed by the previous subject, for this vehicle, unrevoked, valid now, and no wider
 * than its issuer's rights; the last subject is the key that signed this Auth.
 */
export function verifyGrantChain(vehicle: Vehicle, grants: Uint8Array[], keyId: Uint8Array): KeyRecord {
  const { store, crypto } = vehicle.config;
  const fail = (reason: string): never => {
    throw new Refusal(STATUS.rejected, reason, toHex(keyId));
  };
  if (grants.length > MAX_GRANT_CHAIN) fail('GRANT_CHAIN_TOO_LONG');
  const nowMs = vehicle.now();
  // Refusals before any signature work still cost one verification (no timing oracle).
  const failRevoked = (reason: string): never => {
    decoyVerify(vehicle);
    return fail(reason);
  };
  let last: GrantBody | undefined;
  let rights: Rights | undefined;
  const chainGrantIds: string[] = [];
  const chainIssuerIds: string[] = [];
  for (const bytes of grants) {
    let decoded;
    try {
      decoded = decodeGrant(bytes);
    } catch {
      return fail('GRANT_MALFORMED');
    }
    const { grant, body } = decoded;
    // A revoked key never issues again, whichever bundle it signed (kept as revoked key ids),
    // unless it is enrolled again (paired anew by the owner) or was itself re-granted below.
    if (!rights && !store.getKey(body.issuerKeyId) && store.getRevokedKey(body.issuerKeyId)) failRevoked('GRANT_ISSUER_REVOKED');
    // An issuer the vehicle knows is judged by its CURRENT record (suspension, uses, expiry),
    // not by the rights its own grant once carried.
    const issuer = enrolledRights(vehicle, body.issuerKeyId, nowMs, fail) ?? rights;
    if (!issuer) {
      decoyVerify(vehicle);
      return fail('GRANT_ISSUER_UNKNOWN');
    }
    // Each grant after the first must be issued by the previous grant's subject.
    if (rights && !equalBytes(rights.keyId, body.issuerKeyId)) fail('GRANT_CHAIN_BROKEN');
    if (!issuer.canShare) fail('GRANT_ISSUER_CANNOT_SHARE');
    if (issuer.depth + 1 > MAX_GRANT_CHAIN) fail('GRANT_CHAIN_TOO_LONG');
    // Uses cannot be divided among delegates without a shared counter: a use-limited key never shares.
    if (issuer.usesLeft !== undefined) fail('GRANT_ISSUER_USE_LIMITED');
    if (body.useLimit !== undefined && body.canShare) fail('GRANT_USE_LIMIT_NOT_SHAREABLE');
    if (!equalBytes(body.vehicleId, vehicle.identity.vehicleId)) fail('GRANT_WRONG_VEHICLE');
    if (!crypto.verify(issuer.publicKey, grantSignaturePayload(grant.body), grant.signature)) fail('GRANT_BAD_SIGNATURE');
    if (store.isGrantRevoked(body.grantId)) fail('GRANT_REVOKED');
    const notBefore = body.notBefore * 1000;
    const notAfter = body.notAfter * 1000;
    if (nowMs < notBefore) fail('GRANT_NOT_YET_VALID');
    if (nowMs >= notAfter) fail('GRANT_EXPIRED');
    if (notBefore < issuer.notBefore || notAfter > issuer.notAfter) fail('GRANT_ESCALATION_VALIDITY');
    if (issuer.commands !== null && !body.commands.every((c) => issuer.commands!.includes(c))) fail('GRANT_ESCALATION_COMMANDS');
    const subjectId = keyIdOf(crypto, body.subjectKey);
    // A revoked key comes back only by a grant signed after its revocation (a deliberate
    // re-grant), never by a bundle made before it.
    const revoked = store.getRevokedKey(subjectId);
    if (revoked && notBefore <= revoked.revokedAt) fail(equalBytes(subjectId, keyId) ? 'KEY_REVOKED' : 'GRANT_SUBJECT_REVOKED');
    chainGrantIds.push(toHex(body.grantId), ...issuer.chainGrantIds);
    chainIssuerIds.push(toHex(body.issuerKeyId), ...issuer.chainIssuerIds);
    rights = {
      keyId: subjectId,
      publicKey: body.subjectKey,
      commands: body.commands,
      notBefore,
      notAfter,
      usesLeft: body.useLimit,
      canShare: body.canShare === true,
      depth: issuer.depth + 1,
      chainGrantIds: [...new Set(chainGrantIds)],
      chainIssuerIds: [...new Set(chainIssuerIds)],
    };
    last = body;
  }
  if (!rights || !last) return fail('GRANT_MISSING');
  if (!equalBytes(rights.keyId, keyId)) fail('GRANT_SUBJECT_MISMATCH');
  if (store.getKey(keyId)) fail('GRANT_SUBJECT_ENROLLED');
  return {
    keyId,
    publicKey: rights.publicKey,
    role: 'friend',
    name: last.name ?? 'shared key',
    commands: rights.commands,
    notBefore: rights.notBefore,
    notAfter: rights.notAfter,
    suspended: false,
    grantId: last.grantId,
    issuerKeyId: last.issuerKeyId,
    chainGrantIds: rights.chainGrantIds,
    chainIssuerIds: rights.chainIssuerIds,
    canShare: rights.canShare,
    chainDepth: rights.depth,
    ...(rights.usesLeft !== undefined ? { usesLeft: rights.usesLeft } : {}),
    createdAt: nowMs,
  };
}

/**
 * Current rights of an enrolled issuer, or undefined if it is not enrolled. An enrolled issuer
 * that is suspended or expired refuses the chain.
 */
function enrolledRights(vehicle: Vehicle, issuerKeyId: Uint8Array, nowMs: number, fail: (reason: string) => never): Rights | undefined {
  const key = vehicle.config.store.getKey(issuerKeyId);
  if (!key) return undefined;
  if (key.suspended) fail('GRANT_ISSUER_SUSPENDED');
  if ((key.notAfter !== undefined && nowMs >= key.notAfter) || (key.notBefore !== undefined && nowMs < key.notBefore)) fail('GRANT_ISSUER_NOT_VALID_NOW');
  return {
    keyId: key.keyId,
    publicKey: key.publicKey,
    commands: key.commands,
    notBefore: key.notBefore ?? 0,
    notAfter: key.notAfter ?? Number.MAX_SAFE_INTEGER,
    usesLeft: key.usesLeft,
    canShare: key.canShare,
    depth: key.chainDepth,
    // The record's lists already hold its own grant and issuer (owners have none).
    chainGrantIds: key.chainGrantIds ?? [],
    chainIssuerIds: key.chainIssuerIds ?? [],
  };
}
