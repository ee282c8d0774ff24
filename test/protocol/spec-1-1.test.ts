/**
 * Spec 1.1 decisions that are behaviour (docs/PROTOCOL.md): the per-schema size caps the spec
 * states are the code's, grant bodies have one encoding, a key holds one ticket (filed after a
 * sealed refusal too), command 15 is answered with a plain Challenge, and pairing refusals.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { makeWorld, sleep } from '../helpers/world.js';
import { DAY, unlock } from '../helpers/sharing.js';
import { T0 } from '../helpers/world.js';
import { COMMAND, RECHALLENGE_COMMAND, SUPPORTED_VERSIONS } from '../../src/protocol/constants.js';
import { SESSION_SCHEMAS, ChallengeSchema, FrameSchema } from '../../src/protocol/messages.js';
import { PAIRING_SCHEMAS, PairStartSchema, PairingRecordSchema } from '../../src/protocol/pairing.js';
import { GrantBodySchema, GrantSchema, ShareBundleSchema, decodeGrant, encodeShareBundle, grantSignaturePayload } from '../../src/protocol/grant.js';
import * as management from '../../src/protocol/management.js';
import { keyIdOf } from '../../src/protocol/keyschedule.js';
import { decodeMessage, defineSchema, encodeMessage, t, type Schema } from '../../src/wire/schema.js';
import { CodecError, UsageError } from '../../src/errors.js';
import type { Phone } from '../../src/phone/phone.js';
import { truncateUtf8 } from '../../src/vehicle/management.js';

const WIRE_SCHEMAS: readonly Schema<unknown>[] = [
  ...SESSION_SCHEMAS,
  ...PAIRING_SCHEMAS,
  GrantSchema,
  GrantBodySchema,
  ShareBundleSchema,
  PairingRecordSchema,
  management.KeyArgSchema,
  management.GrantArgSchema,
  management.PageArgSchema,
  management.KeyPageSchema,
  management.AuditPageSchema,
] as Schema<unknown>[];

describe('size caps: the spec states what the code enforces', () => {
  it('every schema in the PROTOCOL.md §3.1 table has exactly the maxBytes of its code schema, and none is missing', () => {
    const doc = readFileSync(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('### 3.1 Size caps'), doc.indexOf('### 3.2'));
    const rows = new Map([...section.matchAll(/^\| `(\w+)` \| (\d+) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
    const code = new Map(WIRE_SCHEMAS.map((s) => [s.name, s.maxBytes]));
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(code));
  });
});

/** GrantBody without the 1.1 canonical rules, to forge what a sloppy issuer might sign. */
const LaxGrantBody = defineSchema<Record<string, unknown>>('LaxGrantBody', {
  maxBytes: 400,
  fields: {
    grantId: { key: 0, type: t.bytes({ len: 16 }) },
    vehicleId: { key: 1, type: t.bytes({ len: 16 }) },
    subjectKey: { key: 2, type: t.bytes({ len: 33 }) },
    issuerKeyId: { key: 3, type: t.bytes({ len: 8 }) },
    commands: { key: 4, type: t.array(t.uint()) },
    notBefore: { key: 5, type: t.uint() },
    notAfter: { key: 6, type: t.uint() },
    canShare: { key: 8, type: t.bool(), optional: true },
  } as never,
});

async function signedLaxGrant(w: Awaited<ReturnType<typeof makeWorld>>, issuer: Phone, friend: Phone, over: Record<string, unknown>) {
  const body = encodeMessage(LaxGrantBody, {
    grantId: new Uint8Array(16).fill(9),
    vehicleId: w.vehicle.identity.vehicleId,
    subjectKey: friend.publicKey,
    issuerKeyId: keyIdOf(w.crypto, issuer.publicKey),
    commands: [COMMAND.unlock, COMMAND.lock],
    notBefore: Math.floor((T0 - DAY) / 1000),
    notAfter: Math.floor((T0 + DAY) / 1000),
    ...over,
  });
  const signature = await issuer.signer.sign(grantSignaturePayload(body));
  return { body, grant: encodeMessage(GrantSchema, { body, signature }) };
}

describe('grant bodies have one encoding (PROTOCOL.md §8.1)', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['8: false (absent is the only way to say "may not re-share")', { canShare: false }, 'CODEC_RANGE'],
    ['unsorted commands', { commands: [COMMAND.lock, COMMAND.unlock] }, 'CODEC_UNSORTED'],
    ['duplicate commands', { commands: [COMMAND.unlock, COMMAND.unlock] }, 'CODEC_UNSORTED'],
  ];
  for (const [name, over, code] of cases) {
    it(`${name}: the codec refuses it (${code}) and the vehicle refuses the signed grant as GRANT_MALFORMED`, async () => {
      const w = await makeWorld();
      const owner = await w.enrolledPhone();
      const friend = await w.newPhone();
      const { body, grant } = await signedLaxGrant(w, owner, friend, over);
      expect(() => decodeMessage(GrantBodySchema, body)).toThrow(expect.objectContaining({ code }));
      expect(() => decodeGrant(grant)).toThrow(CodecError);
      await friend.importShare(encodeShareBundle({ vehicleId: w.vehicle.identity.vehicleId, vehiclePublicKey: w.vehicle.identity.publicKey, grants: [grant] }));
      const err = await unlock(w, friend);
      expect(err.code).toBe('REJECTED');
      expect(w.executed).toHaveLength(0);
      expect((await w.vehicle.readAudit()).at(-1)!.detail).toBe('GRANT_MALFORMED');
    });
  }

  it('the encoder refuses to write them either (UsageError), and canShare: true with sorted commands round-trips', () => {
    const base = { grantId: new Uint8Array(16), vehicleId: new Uint8Array(16), subjectKey: new Uint8Array(33), issuerKeyId: new Uint8Array(8), notBefore: 1, notAfter: 2 };
    expect(() => encodeMessage(GrantBodySchema, { ...base, commands: [2, 1] })).toThrow(UsageError);
    expect(() => encodeMessage(GrantBodySchema, { ...base, commands: [1], canShare: false })).toThrow(UsageError);
    const ok = { ...base, commands: [1, 2, 300], canShare: true };
    expect(decodeMessage(GrantBodySchema, encodeMessage(GrantBodySchema, ok))).toEqual(ok);
  });
});

describe('tickets (PROTOCOL.md §5.3)', () => {
  it('a sealed refusal at the handshake still files the key its next ticket; a key holds one ticket at a time', async () => {
    const w = await makeWorld();
    const phone = await w.enrolledPhone();
    const record = w.vehicle.config.store.getKey(phone.keyId)!;
    await w.run(w.vehicle.config.store.putKey({ ...record, role: 'friend', commands: [COMMAND.unlock] }));
    const refused = await unlock(w, phone, COMMAND.trunk);
    expect(refused.code).toBe('NOT_ENTITLED');
    expect(w.vehicle.config.store.ticketCount).toBe(1);
    // The ticket filed after the refusal works: the next unlock takes the fast path.
    expect((await unlock(w, phone)).ok).toBe(true);
    expect(w.executed.map((e) => e.path)).toEqual(['fast']);
    expect(w.vehicle.config.store.ticketCount).toBe(1);
  });
});

describe('versions and re-challenge (PROTOCOL.md §2.1, §5.4)', () => {
  it('the vehicle offers exactly the 1.1 on-wire version, 2', async () => {
    expect(SUPPORTED_VERSIONS).toEqual([2]);
  });

  it('command 15 in a session is answered by a plain (unsealed) Challenge: the session is over', async () => {
    const w = await makeWorld();
    const phone = await w.enrolledPhone();
    const toPhone: Uint8Array[] = [];
    const l = w.link({ adversary: (e) => void (e.direction === 'toPhone' && toPhone.push(e.bytes)) });
    const s = await w.run(phone.connect(l.pair.phone, w.vehicle.identity.vehicleId, { id: COMMAND.unlock }));
    const r = await w.run(s.send({ id: COMMAND.start, userPresent: true }));
    expect(r.ok).toBe(true);
    await w.run(s.close());
    await w.run(l.served);
    // Challenge, Result, then the answer to command 15: a Challenge (not a Frame), then the new handshake's Result.
    expect(toPhone).toHaveLength(4);
    expect(decodeMessage(ChallengeSchema, toPhone[2]!).versions).toEqual([2]);
    expect(() => decodeMessage(FrameSchema, toPhone[2]!)).toThrow(CodecError);
    expect(RECHALLENGE_COMMAND).toBe(15);
  });
});

describe('pairing refusals (PROTOCOL.md §10.1)', () => {
  const FAST_KDF = { logN: 10, r: 8, p: 1 };

  it('a PairStart with no window open is read as an Auth: clear REJECTED, link closed', async () => {
    const w = await makeWorld();
    const l = w.link();
    const link = l.pair.phone;
    await w.run(link.receive({ timeoutMs: 1_000 }));
    await w.run(link.send(encodeMessage(PairStartSchema, { shareP: new Uint8Array(65).fill(4) })));
    expect(Buffer.from(await w.run(link.receive({ timeoutMs: 1_000 }))).toString('hex')).toBe('a10001');
    await w.run(l.served);
    expect((await w.vehicle.readAudit()).at(-1)!.detail).toBe('CODEC_UNKNOWN_KEY');
  });

  it('during the backoff a PairStart is refused without spending an attempt; after it the right code pairs', async () => {
    const w = await makeWorld();
    const { code } = w.vehicle.openPairingWindow({ ttlMs: 600_000, kdf: FAST_KDF, maxAttempts: 3 });
    const phone = await w.newPhone();
    const wrong = code === '00000000' ? '11111111' : '00000000';
    const a = w.link();
    expect((await w.run(phone.pair(a.pair.phone, wrong).catch((e) => e))).code).toBe('PAIRING_FAILED');
    await w.run(a.served);
    expect(w.vehicle.pairing.attemptsLeft).toBe(2);
    const b = w.link();
    expect((await w.run(phone.pair(b.pair.phone, code!).catch((e) => e))).code).toBe('PAIRING_REFUSED');
    await w.run(b.served);
    expect(w.vehicle.pairing.attemptsLeft).toBe(2);
    expect((await w.vehicle.readAudit()).at(-1)!.detail).toBe('PAIRING_FAILED:PAIRING_BACKOFF');
    await sleep(w, 2_000);
    const c = w.link();
    await w.run(phone.pair(c.pair.phone, code!));
    expect(w.vehicle.listKeys().map((k) => k.role)).toEqual(['owner']);
  });

  it('an offer inside the CDDL but above the phone bound is refused before any scrypt: nothing sent, no attempt spent', async () => {
    const w = await makeWorld();
    const { code } = w.vehicle.openPairingWindow({ ttlMs: 600_000, kdf: FAST_KDF });
    const phone = await w.newPhone();
    const toVehicle: Uint8Array[] = [];
    const costly = (e: { direction: string; index: number; bytes: Uint8Array }) => {
      if (e.direction === 'toVehicle') toVehicle.push(e.bytes);
      if (e.direction !== 'toPhone' || e.index !== 0) return undefined;
      const ch = decodeMessage(ChallengeSchema, e.bytes);
      return { type: 'modify' as const, bytes: encodeMessage(ChallengeSchema, { ...ch, pairing: { ...ch.pairing!, logN: 20, r: 16, p: 4 } }) };
    };
    const l = w.link({ adversary: costly });
    const err = await w.run(phone.pair(l.pair.phone, code!).catch((e) => e));
    expect(err.code).toBe('PAIRING_COST_TOO_HIGH');
    await w.run(l.served);
    expect(toVehicle).toHaveLength(0);
    expect(w.vehicle.pairing.attemptsLeft).toBe(5);
  });
});

describe('management payloads (PROTOCOL.md §3.3)', () => {
  it('a long non-ASCII key name from the admin API is cut to 64 UTF-8 bytes in KeyInfo, so listKeys still answers', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const other = await w.newPhone();
    await w.run(w.vehicle.enrollOwner(other.publicKey, 'é'.repeat(50)));
    const l = w.link();
    const s = await w.run(owner.manage(l.pair.phone, w.vehicle.identity.vehicleId));
    const page = decodeMessage(management.KeyPageSchema, s.firstResult.data!);
    await w.run(s.close());
    await w.run(l.served);
    expect(page.keys.map((k) => k.name)).toContain('é'.repeat(32));
    expect(truncateUtf8('a😀b', 4)).toBe('a');
    expect(truncateUtf8('a😀b', 5)).toBe('a😀');
  });
});
