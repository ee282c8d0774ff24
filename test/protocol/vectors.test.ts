import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createECDH, createHash, createHmac, hkdfSync } from 'node:crypto';
import { generateSessionVectors } from '../vectors/session-vectors.js';
import { createNodeProvider } from '../../src/crypto/node.js';
import { fromHex } from '../../src/crypto/bytes.js';
import { PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import { deriveAuthKeys, fastAuthHash, fullAuthHash, challengeHash, initialHash, phoneSignaturePayload } from '../../src/protocol/keyschedule.js';
import { decodeMessage, encodeMessage, type Schema } from '../../src/wire/schema.js';
import { PairWelcomeSchema } from '../../src/protocol/pairing.js';
import { GRANT_SIGNATURE_LABEL, GrantBodySchema, ShareBundleSchema, decodeShareBundle } from '../../src/protocol/grant.js';
import { AuthSchema, FrameSchema } from '../../src/protocol/messages.js';
import { createChannel, openFrame } from '../../src/protocol/channel.js';

const file = JSON.parse(readFileSync(new URL('../vectors/session-v1.json', import.meta.url), 'utf8'));
const hex = (b: Uint8Array | Buffer) => Buffer.from(b).toString('hex');

/** P-256 group order. */
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const toInt = (b: Uint8Array) => BigInt('0x' + (hex(b) || '0'));
const to32 = (x: bigint) => Buffer.from(x.toString(16).padStart(64, '0'), 'hex');
const modPow = (b: bigint, e: bigint, m: bigint): bigint => {
  let r = 1n;
  for (b %= m; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
};

/**
 * RFC 6979 §3.2 ECDSA P-256/SHA-256 with no extra entropy and low-S, written from the RFC with
 * node:crypto only (HMAC, and ECDH against the generator for x(k·G)): an implementation that
 * shares no code with the signer that made the vectors.
 */
function rfc6979Sign(privateKey: Uint8Array, message: Uint8Array): string {
  const d = toInt(privateKey);
  const h1 = createHash('sha256').update(message).digest();
  const z = toInt(h1);
  const hmac = (k: Buffer, ...parts: Buffer[]) => createHmac('sha256', k).update(Buffer.concat(parts)).digest();
  const x = to32(d);
  const h = to32(z % N);
  let V = Buffer.alloc(32, 1);
  let K = Buffer.alloc(32, 0);
  K = hmac(K, V, Buffer.of(0), x, h);
  V = hmac(K, V);
  K = hmac(K, V, Buffer.of(1), x, h);
  V = hmac(K, V);
  for (;;) {
    V = hmac(K, V);
    const k = toInt(V);
    if (k >= 1n && k < N) {
      const ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(to32(k));
      const r = toInt(ecdh.getPublicKey().subarray(1, 33)) % N;
      let s = (modPow(k, N - 2n, N) * (z + r * d)) % N;
      if (r !== 0n && s !== 0n) {
        if (s > N / 2n) s = N - s;
        return hex(to32(r)) + hex(to32(s));
      }
    }
    K = hmac(K, V, Buffer.of(0));
    V = hmac(K, V);
  }
}

describe('protocol 1.1 test vectors (docs/PROTOCOL.md §12)', () => {
  it('regenerating them gives exactly the committed file', async () => {
    expect(await generateSessionVectors()).toEqual(file);
  });

  it('an independent provider (node:crypto) reproduces the full-path key schedule', () => {
    const c = createNodeProvider();
    const f = file.full;
    const h0 = initialHash(c, fromHex(file.inputs.vehicleId), fromHex(file.inputs.vehicleStaticPublic));
    const h1 = challengeHash(c, h0, fromHex(f.challenge));
    const h2 = fullAuthHash(c, h1, PROTOCOL_VERSION, fromHex(file.inputs.phoneEphemeralPublic));
    expect(hex(h2)).toBe(f.h2);
    const ee = c.ecdh(fromHex(file.inputs.vehicleEphemeralPrivate), fromHex(file.inputs.phoneEphemeralPublic));
    const es = c.ecdh(fromHex(file.inputs.vehicleStaticPrivate), fromHex(file.inputs.phoneEphemeralPublic));
    expect(hex(ee)).toBe(f.ee);
    expect(hex(es)).toBe(f.es);
    const keys = deriveAuthKeys(c, h2, 'full', ee, es);
    expect(hex(keys.kAuth)).toBe(f.kAuth);
    const payload = phoneSignaturePayload(h2, fromHex(f.keyId), fromHex(file.inputs.command));
    expect(c.verify(fromHex(file.inputs.phoneDevicePublic), payload, fromHex(f.phoneSignature))).toBe(true);
  });

  it('an independent provider reproduces the fast-path key schedule from the full session ticket', () => {
    const c = createNodeProvider();
    const f = file.fast;
    expect(f.ticketId).toBe(file.full.ticketId);
    const h0 = initialHash(c, fromHex(file.inputs.vehicleId), fromHex(file.inputs.vehicleStaticPublic));
    const h2 = fastAuthHash(c, challengeHash(c, h0, fromHex(f.challenge)), PROTOCOL_VERSION, fromHex(f.phoneEphemeralPublic), fromHex(f.ticketId));
    expect(hex(h2)).toBe(f.h2);
    const ee = c.ecdh(fromHex(file.inputs.vehicleEphemeral2Private), fromHex(f.phoneEphemeralPublic));
    expect(hex(ee)).toBe(f.ee);
    expect(hex(deriveAuthKeys(c, h2, 'fast', ee, fromHex(file.full.resumptionSecret)).kAuth)).toBe(f.kAuth);
  });

  it('every signature is RFC 6979 without extra entropy: recomputed from the private key and the signed bytes', () => {
    const phone = fromHex(file.inputs.phoneDevicePrivate);
    expect(rfc6979Sign(phone, fromHex(file.full.toBeSigned))).toBe(file.full.phoneSignature);
    const grantSigned = Buffer.concat([Buffer.from(GRANT_SIGNATURE_LABEL), Buffer.from(file.grant.body, 'hex')]);
    expect(rfc6979Sign(phone, grantSigned)).toBe(file.grant.signature);
    expect(rfc6979Sign(phone, fromHex(file.pairing.proofToBeSigned))).toBe(file.pairing.proofSignature);
  });

  it('the advertising key follows §2 from a_V, the pairing welcome carries it, and the pseudonym follows BLE.md §3', () => {
    const a = file.advertising;
    const key = Buffer.from(hkdfSync('sha256', fromHex(file.inputs.advertisingSecret), fromHex(file.inputs.vehicleId), 'DK1 advertising key', 32));
    expect(hex(key)).toBe(a.advertisingKey);
    const welcome = decodeMessage(PairWelcomeSchema, fromHex(file.pairing.pairWelcomePlaintext));
    expect(hex(welcome.advertisingKey)).toBe(a.advertisingKey);
    expect(a.slot).toBe(Math.floor(file.inputs.pseudonymTimeMs / file.inputs.pseudonymRotationMs));
    const slot = Buffer.alloc(8);
    slot.writeBigUInt64BE(BigInt(a.slot));
    const input = Buffer.concat([Buffer.from('DK1 adv'), slot]);
    expect(hex(input)).toBe(a.pseudonymInput);
    expect(hex(createHmac('sha256', key).update(input).digest().subarray(0, 6))).toBe(a.pseudonym);
  });

  it('each reject vector is refused with exactly its error; the canonical one is accepted', () => {
    const schemas: Record<string, Schema<unknown>> = { GrantBody: GrantBodySchema, Frame: FrameSchema, Auth: AuthSchema } as Record<string, Schema<unknown>>;
    const zero = () => new Uint8Array(32);
    expect(file.rejects.length).toBeGreaterThan(5);
    for (const r of file.rejects as Array<{ name: string; schema: string; hex: string; error: string }>) {
      const bytes = fromHex(r.hex);
      const attempt = () => {
        decodeMessage(schemas[r.schema]!, bytes);
        // Frames decode field by field; their combination is the channel's to judge.
        if (r.schema === 'Frame') openFrame(createNodeProvider(), createChannel('vehicle', { sessionHash: zero(), kV2P: zero(), kP2V: zero(), resumptionSecret: zero(), ticketId: new Uint8Array(16) }), bytes);
      };
      if (r.error === '') expect(attempt, r.name).not.toThrow();
      else expect(attempt, r.name).toThrow(expect.objectContaining({ code: r.error }));
    }
  });

  it('the share bundle is base64url without padding and carries the grant and the advertising key', () => {
    expect(file.grant.shareBundle).toMatch(/^[A-Za-z0-9_-]+$/);
    const b = decodeShareBundle(file.grant.shareBundle);
    expect(hex(b.grants[0]!)).toBe(file.grant.grant);
    expect(hex(b.advertisingKey!)).toBe(file.advertising.advertisingKey);
    expect(Buffer.from(file.grant.shareBundle, 'base64url')).toEqual(Buffer.from(encodeMessage(ShareBundleSchema, b)));
  });
});

