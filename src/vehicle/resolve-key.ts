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
import type { OpenedFullAuth } from '../protocol/vehicle-handshake.js';
import { Refusal } from './connection.js';
import type { KeyRecord } from './store.js';
import type { Vehicle } from './vehicle.js';

/** The key to verify the Auth with; `pendingEnrollment` when it comes from a grant not yet filed. */
export interface ResolvedKey {
  record: KeyRecord;
  publicKey: Uint8Array;
  pendingEnrollment: boolean;
}

/** Registry lookup, then grant chain. Throws {@link Refusal} with the reason. */
export async function resolveKey(vehicle: Vehicle, opened: OpenedFullAuth): Promise<ResolvedKey> {
  const keyId = opened.body.keyId;
  const known = vehicle.config.store.getKey(keyId);
  if (known) return { record: known, publicKey: known.publicKey, pendingEnrollment: false };
  if (!opened.body.grants) throw new Refusal(STATUS.rejected, 'UNKNOWN_KEY', toHex(keyId));
  const record = verifyGrantChain(vehicle, opened.body.grants, keyId);
  return { record, publicKey: record.publicKey, pendingEnrollment: true };
}

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
}

/**
 * Checks a grant chain offline: the first issuer is an enrolled key allowed to share; each
 * grant is signed by the previous subject, for this vehicle, unrevoked, valid now, and no wider
 * than its issuer's rights; the last subject is the key that signed this Auth.
 */
export function verifyGrantChain(vehicle: Vehicle, grants: Uint8Array[], keyId: Uint8Array): KeyRecord {
  const { store, crypto, clock } = vehicle.config;
  const fail = (reason: string): never => {
    throw new Refusal(STATUS.rejected, reason, toHex(keyId));
  };
  if (grants.length > MAX_GRANT_CHAIN) fail('GRANT_CHAIN_TOO_LONG');
  const nowMs = clock.now();
  let last: GrantBody | undefined;
  let rights: Rights | undefined;
  for (const bytes of grants) {
    let decoded;
    try {
      decoded = decodeGrant(bytes);
    } catch {
      return fail('GRANT_MALFORMED');
    }
    const { grant, body } = decoded;
    const issuer = rights ?? rootRights(vehicle, body.issuerKeyId, nowMs) ?? fail('GRANT_ISSUER_UNKNOWN');
    if (!equalBytes(issuer.keyId, body.issuerKeyId)) fail('GRANT_CHAIN_BROKEN');
    if (!issuer.canShare) fail('GRANT_ISSUER_CANNOT_SHARE');
    if (issuer.depth + 1 > MAX_GRANT_CHAIN) fail('GRANT_CHAIN_TOO_LONG');
    if (!equalBytes(body.vehicleId, vehicle.identity.vehicleId)) fail('GRANT_WRONG_VEHICLE');
    if (!crypto.verify(issuer.publicKey, grantSignaturePayload(grant.body), grant.signature)) fail('GRANT_BAD_SIGNATURE');
    if (store.isGrantRevoked(body.grantId)) fail('GRANT_REVOKED');
    const notBefore = body.notBefore * 1000;
    const notAfter = body.notAfter * 1000;
    if (nowMs < notBefore) fail('GRANT_NOT_YET_VALID');
    if (nowMs >= notAfter) fail('GRANT_EXPIRED');
    if (notBefore < issuer.notBefore || notAfter > issuer.notAfter) fail('GRANT_ESCALATION_VALIDITY');
    if (issuer.commands !== null && !body.commands.every((c) => issuer.commands!.includes(c))) fail('GRANT_ESCALATION_COMMANDS');
    if (issuer.usesLeft !== undefined && (body.useLimit === undefined || body.useLimit > issuer.usesLeft)) fail('GRANT_ESCALATION_USES');
    rights = {
      keyId: keyIdOf(crypto, body.subjectKey),
      publicKey: body.subjectKey,
      commands: body.commands,
      notBefore,
      notAfter,
      usesLeft: body.useLimit,
      canShare: body.canShare === true,
      depth: issuer.depth + 1,
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
    canShare: rights.canShare,
    chainDepth: rights.depth,
    ...(rights.usesLeft !== undefined ? { usesLeft: rights.usesLeft } : {}),
    createdAt: nowMs,
  };
}

/** Rights of the enrolled key that issued the first grant, or undefined if it is not usable. */
function rootRights(vehicle: Vehicle, issuerKeyId: Uint8Array, nowMs: number): Rights | undefined {
  const key = vehicle.config.store.getKey(issuerKeyId);
  if (!key || key.suspended) return undefined;
  if (key.notAfter !== undefined && nowMs >= key.notAfter) return undefined;
  return {
    keyId: key.keyId,
    publicKey: key.publicKey,
    commands: key.commands,
    notBefore: key.notBefore ?? 0,
    notAfter: key.notAfter ?? Number.MAX_SAFE_INTEGER,
    usesLeft: key.usesLeft,
    canShare: key.canShare,
    depth: key.chainDepth,
  };
}
