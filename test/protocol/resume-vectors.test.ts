import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createCipheriv, createECDH, createHash, hkdfSync } from 'node:crypto';
import { generateResumeVectors } from '../vectors/resume-vectors.js';

const file = JSON.parse(readFileSync(new URL('../vectors/resume-v1.json', import.meta.url), 'utf8'));

const hex = (s: string) => Buffer.from(s, 'hex');
const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const hkdf = (ikm: Buffer, salt: Buffer, info: string) => Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info, 'ascii'), 32));
const ecdh = (priv: string, pub: string) => {
  const e = createECDH('prime256v1');
  e.setPrivateKey(hex(priv));
  return e.computeSecret(hex(pub));
};
/** AES-256-GCM with nonce 0 (§4 nonces): ciphertext ‖ tag. */
const seal = (key: Buffer, plain: Buffer, aad: Buffer) => {
  const c = createCipheriv('aes-256-gcm', key, Buffer.alloc(12));
  c.setAAD(aad);
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
};

describe('resume-v1 test vectors (docs/PROTOCOL.md §14.7)', () => {
  it('regenerating them gives exactly the committed file', () => {
    expect(generateResumeVectors()).toEqual(file);
  });

  it('raw node:crypto reproduces every value of the key schedule from the inputs alone', () => {
    const I = file.inputs;
    const L = file.labels;
    const h0 = sha256(Buffer.from('ble-digital-key v1'), hex(I.vehicleId), hex(I.vehicleStaticPublic));
    expect(h0.toString('hex')).toBe(file.h0);
    const age = Buffer.alloc(4);
    age.writeUInt32BE(I.ageMs);
    const hR = sha256(h0, Buffer.from(L.resume), Buffer.of(I.version), hex(I.phoneEphemeralPublic), hex(I.ticketId), age);
    expect(hR.toString('hex')).toBe(file.hR);
    const kEarly = hkdf(hex(I.resumptionSecret), hR, L.early);
    expect(kEarly.toString('hex')).toBe(file.kEarly);
    // ResumeBody = {0: Command}: map(1), key 0, then the Command bytes.
    const body = Buffer.concat([Buffer.of(0xa1, 0x00), hex(I.command)]);
    expect(body.toString('hex')).toBe(file.resumeBody);
    const sealed = seal(kEarly, body, hR);
    expect(file.resumeAuth).toContain(sealed.toString('hex'));
    const h1 = sha256(h0, hex(file.challenge));
    expect(h1.toString('hex')).toBe(file.h1);
    expect(file.challenge).toContain(I.vehicleEphemeralPublic);
    const h2 = sha256(h1, Buffer.from(L.resumed), hR);
    expect(h2.toString('hex')).toBe(file.h2);
    const ee = ecdh(I.vehicleEphemeralPrivate, I.phoneEphemeralPublic);
    expect(ecdh(I.phoneEphemeralPrivate, I.vehicleEphemeralPublic)).toEqual(ee);
    expect(ee.toString('hex')).toBe(file.ee);
    const chain = hkdf(Buffer.concat([ee, hex(I.resumptionSecret)]), h2, L.chain);
    expect(chain.toString('hex')).toBe(file.chain);
    const h3 = sha256(h2, sealed);
    expect(h3.toString('hex')).toBe(file.h3);
    const kV2P = hkdf(chain, h3, 'DK1 session v2p');
    expect(kV2P.toString('hex')).toBe(file.kV2P);
    expect(hkdf(chain, h3, 'DK1 session p2v').toString('hex')).toBe(file.kP2V);
    expect(hkdf(chain, h3, 'DK1 resumption secret').toString('hex')).toBe(file.nextResumptionSecret);
    expect(Buffer.from(hkdfSync('sha256', chain, h3, Buffer.from('DK1 ticket id'), 16)).toString('hex')).toBe(file.nextTicketId);
    // msg 2 of the resume path: Frame {1: AES-GCM(kV2P, nonce 0, Result, AAD h3)}.
    expect(file.result).toContain(seal(kV2P, hex(file.resultPlaintext), h3).toString('hex'));
  });

  it('the vehicle judged the vector fresh: its clock minus the issue time is within the window of ageMs', () => {
    expect(Math.abs(file.inputs.vehicleTicketAgeMs - file.inputs.ageMs)).toBeLessThanOrEqual(file.windowMs);
  });
});
