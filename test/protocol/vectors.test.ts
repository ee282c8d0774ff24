import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { generateSessionVectors } from '../vectors/session-vectors.js';
import { createNodeProvider } from '../../src/crypto/node.js';
import { fromHex } from '../../src/crypto/bytes.js';
import { deriveAuthKeys, fullAuthHash, challengeHash, initialHash, phoneSignaturePayload } from '../../src/protocol/keyschedule.js';

const file = JSON.parse(readFileSync(new URL('../vectors/session-v1.json', import.meta.url), 'utf8'));

describe('session-v1 test vectors (docs/PROTOCOL.md §12)', () => {
  it('regenerating them gives exactly the committed file', async () => {
    expect(await generateSessionVectors()).toEqual(file);
  });

  it('an independent provider (node:crypto) reproduces the key schedule and verifies the signature', () => {
    const c = createNodeProvider();
    const f = file.full;
    const h0 = initialHash(c, fromHex(file.inputs.vehicleId), fromHex(file.inputs.vehicleStaticPublic));
    const h1 = challengeHash(c, h0, fromHex(f.challenge));
    const h2 = fullAuthHash(c, h1, 1, fromHex(file.inputs.phoneEphemeralPublic));
    expect(Buffer.from(h2).toString('hex')).toBe(f.h2);
    const ee = c.ecdh(fromHex(file.inputs.vehicleEphemeralPrivate), fromHex(file.inputs.phoneEphemeralPublic));
    const es = c.ecdh(fromHex(file.inputs.vehicleStaticPrivate), fromHex(file.inputs.phoneEphemeralPublic));
    expect(Buffer.from(ee).toString('hex')).toBe(f.ee);
    expect(Buffer.from(es).toString('hex')).toBe(f.es);
    const keys = deriveAuthKeys(c, h2, 'full', ee, es);
    expect(Buffer.from(keys.kAuth).toString('hex')).toBe(f.kAuth);
    const payload = phoneSignaturePayload(h2, fromHex(f.keyId), fromHex(file.inputs.command));
    expect(c.verify(fromHex(file.inputs.phoneDevicePublic), payload, fromHex(f.phoneSignature))).toBe(true);
  });
});
