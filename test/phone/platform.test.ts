/**
 * What the core needs from a phone's JS runtime, checked in Node against the platform APIs it
 * replaces: the hand-written strict UTF-8 (no TextEncoder/TextDecoder, which Hermes before
 * React Native 0.85 lacks), and the typed error when `crypto.getRandomValues` is missing.
 * The same core runs in the real Hermes VM in test/hermes.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { utf8, utf8Decode } from '../../src/crypto/bytes.js';
import { createNobleProvider, NO_RANDOM_SOURCE } from '../../src/crypto/noble.js';
import { UsageError } from '../../src/errors.js';
import { encodeRecord, parseRecord } from '../../src/store/json-record.js';

describe('UTF-8 without TextEncoder/TextDecoder', () => {
  it('encodes exactly as TextEncoder for every well-formed string', () => {
    const enc = new TextEncoder();
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(utf8(s)).toEqual(enc.encode(s));
      }), { numRuns: 2000 });
    expect(utf8('€𝄞é\u0000')).toEqual(Uint8Array.of(0xe2, 0x82, 0xac, 0xf0, 0x9d, 0x84, 0x9e, 0xc3, 0xa9, 0));
  });

  it('decodes exactly as a fatal TextDecoder for well-formed bytes, and round-trips', () => {
    const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(utf8Decode(utf8(s))).toBe(s);
      }), { numRuns: 2000 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (b) => {
        let want: string | null;
        try {
          want = dec.decode(b);
        } catch {
          want = null;
        }
        if (want === null) expect(() => utf8Decode(b)).toThrow(UsageError);
        else expect(utf8Decode(b)).toBe(want);
      }),
      { numRuns: 20_000 },
    );
  });

  it.each([
    ['overlong NUL', [0xc0, 0x80]],
    ['overlong 3-byte', [0xe0, 0x80, 0xaf]],
    ['surrogate', [0xed, 0xa0, 0x80]],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['truncated', [0xe2, 0x82]],
    ['lone continuation', [0x80]],
  ])('refuses %s with INVALID_UTF8', (_name, bytes) => {
    expect(() => utf8Decode(Uint8Array.from(bytes))).toThrow(expect.objectContaining({ code: 'INVALID_UTF8' }));
  });

  it('refuses a lone surrogate instead of writing U+FFFD', () => {
    expect(() => utf8('a\ud800b')).toThrow(expect.objectContaining({ code: 'INVALID_UTF8' }));
    expect(() => utf8('\udc00')).toThrow(UsageError);
  });

  it('store records round-trip non-ASCII text, and corrupt UTF-8 is STORE_CORRUPT', () => {
    const bytes = encodeRecord({ name: 'Zoë 🚗', n: 1 });
    expect(parseRecord(bytes, 'phone', 'v', (j) => j)).toEqual({ name: 'Zoë 🚗', n: 1 });
    expect(() => parseRecord(Uint8Array.of(0x7b, 0xff, 0x7d), 'phone', 'v', (j) => j)).toThrow(expect.objectContaining({ code: 'STORE_CORRUPT' }));
  });

  it('no core module constructs a TextEncoder or TextDecoder at load (Node-only files excepted)', () => {
    const nodeOnly = new Set(JSON.parse(readFileSync('tsconfig.core.json', 'utf8')).exclude as string[]);
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts') && !nodeOnly.has(path)) {
          readFileSync(path, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              // Module level = not indented; any use at all is flagged in the core.
              if (/new Text(En|De)coder\b/.test(line) && !/^\s*(\*|\/\/)/.test(line)) offenders.push(`${path}:${i + 1}`);
            });
        }
      }
    };
    walk('src');
    expect(offenders).toEqual([]);
  });
});

describe('randomness source', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('a missing crypto.getRandomValues is UsageError NO_RANDOM_SOURCE with the one-sentence fix', () => {
    vi.stubGlobal('crypto', undefined);
    const provider = createNobleProvider();
    let err: unknown;
    try {
      provider.generateKeyPair();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect(err).toMatchObject({ code: NO_RANDOM_SOURCE, retryable: false });
    expect((err as Error).message).toBe(
      'crypto.getRandomValues is missing: on React Native, install react-native-get-random-values and import it first in your entry file, before ble-digital-key',
    );
    expect(() => provider.randomBytes(16)).toThrow(expect.objectContaining({ code: NO_RANDOM_SOURCE }));
  });

  it('a polyfill installed after the library loaded is used (looked up at each call), in one call', () => {
    const calls: number[] = [];
    vi.stubGlobal('crypto', {
      getRandomValues: (a: Uint8Array) => {
        if (a.length > 65_536) throw new Error('QuotaExceededError');
        calls.push(a.length);
        return a.fill(7);
      },
    });
    const provider = createNobleProvider();
    expect(provider.randomBytes(4)).toEqual(Uint8Array.of(7, 7, 7, 7));
    provider.randomBytes(65_536);
    expect(calls).toEqual([4, 65_536]);
  });
});
