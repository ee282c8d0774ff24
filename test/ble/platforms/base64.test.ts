import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../../src/ble/base64.js';
import { CodecError } from '../../../src/errors.js';

describe('base64 (ble-plx values)', () => {
  it.each([
    ['', ''],
    ['f', 'Zg=='],
    ['fo', 'Zm8='],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg=='],
    ['fooba', 'Zm9vYmE='],
    ['foobar', 'Zm9vYmFy'],
  ])('RFC 4648 §10 vector %j ↔ %j', (text, b64) => {
    const bytes = new TextEncoder().encode(text);
    expect(toBase64(bytes)).toBe(b64);
    expect(fromBase64(b64)).toEqual(bytes);
  });

  it('agrees with Buffer on random bytes, both ways', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const b64 = Buffer.from(bytes).toString('base64');
        expect(toBase64(bytes)).toBe(b64);
        expect(fromBase64(b64)).toEqual(bytes);
      }),
    );
  });

  it.each(['Zg=', 'Z', 'Zm9v!', 'Zh==', 'Zm9=', '====', 'Zm 9v', 'Zm9v\n', 'é'])('refuses %j with CodecError BASE64_INVALID', (bad) => {
    expect(() => fromBase64(bad)).toThrow(CodecError);
  });

  it('refuses a non-string with CodecError', () => {
    expect(() => fromBase64(42 as unknown as string)).toThrow(CodecError);
  });
});
