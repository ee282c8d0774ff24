import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_MESSAGE_BYTES } from '../../src/constants.js';
import { FramingError, UsageError } from '../../src/errors.js';
import { Reassembler, chunkCount, fragment, framedSize } from '../../src/wire/framing.js';

/** Deterministic message of `n` bytes. */
function msg(n: number, salt = 0): Uint8Array {
  const m = new Uint8Array(n);
  for (let i = 0; i < n; i++) m[i] = (i * 31 + salt) & 0xff;
  return m;
}

/** Pushes every chunk at time 0 and returns the messages produced. */
function pushAll(r: Reassembler, chunks: Uint8Array[], nowMs = 0): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of chunks) {
    const m = r.push(c, nowMs);
    if (m !== null) out.push(m);
  }
  return out;
}

/** Asserts that `fn` throws an error of class `cls` with `code`. */
function expectCode(fn: () => unknown, cls: typeof FramingError | typeof UsageError, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(cls);
  expect((caught as FramingError).code).toBe(code);
}

const MTUS = [23, 185, 247, 517];

describe('framing: size helpers', () => {
  it('framedSize adds the 2-byte prefix', () => {
    expect(framedSize(1)).toBe(3);
    expect(framedSize(4096)).toBe(4098);
  });
  it('chunkCount at MTU 23', () => {
    expect(chunkCount(18, 20)).toBe(1);
    expect(chunkCount(19, 20)).toBe(2);
    expect(chunkCount(38, 20)).toBe(2);
    expect(chunkCount(39, 20)).toBe(3);
    expect(chunkCount(4096, 20)).toBe(205);
  });
  it('rejects bad arguments', () => {
    expectCode(() => framedSize(-1), UsageError, 'FRAME_BAD_LENGTH');
    expectCode(() => framedSize(1.5), UsageError, 'FRAME_BAD_LENGTH');
    expectCode(() => chunkCount(1, 19), UsageError, 'FRAME_BAD_PAYLOAD_SIZE');
    expectCode(() => chunkCount(1, 515), UsageError, 'FRAME_BAD_PAYLOAD_SIZE');
  });
});

describe.each(MTUS)('framing table at ATT MTU %i', (mtu) => {
  const payload = mtu - 3;
  const sizes = [
    1,
    payload - 3, // exactly one full chunk with the prefix
    payload - 2,
    payload - 1,
    payload,
    payload + 1,
    2 * payload - 2, // exactly two full chunks
    2 * payload,
    5 * payload - 2,
    MAX_MESSAGE_BYTES - 1,
    MAX_MESSAGE_BYTES,
  ];
  it.each(sizes)('round-trips a %i-byte message', (size) => {
    const m = msg(size, mtu);
    const chunks = fragment(m, payload);
    expect(chunks.length).toBe(chunkCount(size, payload));
    expect(chunks.reduce((a, c) => a + c.length, 0)).toBe(framedSize(size));
    for (const c of chunks.slice(0, -1)) expect(c.length).toBe(payload);
    const last = chunks.at(-1)!;
    expect(last.length).toBeGreaterThan(0);
    expect(last.length).toBeLessThanOrEqual(payload);
    expect(chunks[0]![0]).toBe(size >>> 8);
    expect(chunks[0]![1]).toBe(size & 0xff);
    const r = new Reassembler({ payloadBytes: payload });
    const got = pushAll(r, chunks);
    expect(got).toHaveLength(1);
    expect(got[0]).toEqual(m);
    expect(r.inProgress).toBe(false);
  });

  it('handles back-to-back messages on one reassembler', () => {
    const r = new Reassembler({ payloadBytes: payload });
    const a = msg(payload + 7, 1);
    const b = msg(1, 2);
    const c = msg(3 * payload, 3);
    const got = pushAll(r, [...fragment(a, payload), ...fragment(b, payload), ...fragment(c, payload)]);
    expect(got).toEqual([a, b, c]);
  });
});

describe('framing: worked example at MTU 23 (docs/WIRE.md)', () => {
  it('splits a 40-byte message into 20 + 20 + 2', () => {
    const m = msg(40);
    const chunks = fragment(m, 20);
    expect(chunks.map((c) => c.length)).toEqual([20, 20, 2]);
    expect(Array.from(chunks[0]!.subarray(0, 2))).toEqual([0x00, 0x28]);
    expect(chunks[0]!.subarray(2)).toEqual(m.subarray(0, 18));
    expect(chunks[1]).toEqual(m.subarray(18, 38));
    expect(chunks[2]).toEqual(m.subarray(38, 40));
  });
});

describe('framing: fragment argument errors', () => {
  it.each([
    ['empty message', () => fragment(new Uint8Array(0), 20), 'FRAME_EMPTY'],
    ['too large', () => fragment(new Uint8Array(MAX_MESSAGE_BYTES + 1), 20), 'FRAME_TOO_LARGE'],
    ['too large for custom max', () => fragment(new Uint8Array(101), 20, 100), 'FRAME_TOO_LARGE'],
    ['payload 19', () => fragment(new Uint8Array(1), 19), 'FRAME_BAD_PAYLOAD_SIZE'],
    ['payload 515', () => fragment(new Uint8Array(1), 515), 'FRAME_BAD_PAYLOAD_SIZE'],
    ['payload NaN', () => fragment(new Uint8Array(1), Number.NaN), 'FRAME_BAD_PAYLOAD_SIZE'],
    ['payload 20.5', () => fragment(new Uint8Array(1), 20.5), 'FRAME_BAD_PAYLOAD_SIZE'],
    ['max above u16', () => fragment(new Uint8Array(1), 20, 65536), 'FRAME_BAD_MAX_SIZE'],
    ['max zero', () => fragment(new Uint8Array(1), 20, 0), 'FRAME_BAD_MAX_SIZE'],
    ['not bytes', () => fragment('abc' as unknown as Uint8Array, 20), 'FRAME_BAD_MESSAGE'],
    ['array of numbers', () => fragment([1, 2] as unknown as Uint8Array, 20), 'FRAME_BAD_MESSAGE'],
  ])('%s', (_name, fn, code) => expectCode(fn, UsageError, code));

  it('accepts the 16-bit maximum when allowed', () => {
    const m = msg(65535);
    const chunks = fragment(m, 514, 65535);
    const r = new Reassembler({ payloadBytes: 514, maxMessageBytes: 65535 });
    expect(pushAll(r, chunks)).toEqual([m]);
  });

  it('does not alias the caller buffer', () => {
    const m = msg(30);
    const chunks = fragment(m, 20);
    m[0] = 0xee;
    expect(chunks[0]![2]).toBe(0);
  });
});

describe('framing: Reassembler options', () => {
  it.each([
    ['payload 19', { payloadBytes: 19 }, 'FRAME_BAD_PAYLOAD_SIZE'],
    ['payload 515', { payloadBytes: 515 }, 'FRAME_BAD_PAYLOAD_SIZE'],
    ['max 0', { payloadBytes: 20, maxMessageBytes: 0 }, 'FRAME_BAD_MAX_SIZE'],
    ['max 65536', { payloadBytes: 20, maxMessageBytes: 65536 }, 'FRAME_BAD_MAX_SIZE'],
    ['timeout 0', { payloadBytes: 20, interChunkTimeoutMs: 0 }, 'FRAME_BAD_TIMEOUT'],
    ['timeout NaN', { payloadBytes: 20, interChunkTimeoutMs: Number.NaN }, 'FRAME_BAD_TIMEOUT'],
  ])('%s', (_name, options, code) => expectCode(() => new Reassembler(options), UsageError, code));

  it('rejects non-object options and bad push arguments', () => {
    expectCode(() => new Reassembler(null as never), UsageError, 'FRAME_BAD_OPTIONS');
    const r = new Reassembler({ payloadBytes: 20 });
    expectCode(() => r.push([0, 1, 2] as unknown as Uint8Array, 0), UsageError, 'FRAME_BAD_CHUNK');
    expectCode(() => r.push(new Uint8Array([0, 1, 2]), Number.NaN), UsageError, 'FRAME_BAD_TIME');
  });
});

describe('framing: Reassembler errors (each resets, then a fresh message succeeds)', () => {
  const P = 20;
  const fresh = msg(45, 9);
  const h = (n: number): number[] => [n >>> 8, n & 0xff];
  const cases: Array<[string, number[][], string, number[]?]> = [
    ['empty chunk at start', [[]], 'FRAME_EMPTY_CHUNK'],
    ['empty chunk mid-message', [[...h(30), ...new Array<number>(18).fill(1)], []], 'FRAME_EMPTY_CHUNK'],
    ['chunk longer than payload', [new Array<number>(21).fill(0)], 'FRAME_CHUNK_TOO_LONG'],
    ['long chunk mid-message', [[...h(50), ...new Array<number>(18).fill(1)], new Array<number>(21).fill(2)], 'FRAME_CHUNK_TOO_LONG'],
    ['declared length 0', [[0, 0, 1, 2]], 'FRAME_EMPTY'],
    ['declared length 0 alone', [[0, 0]], 'FRAME_EMPTY'],
    ['declared length over max', [[...h(MAX_MESSAGE_BYTES + 1), 1]], 'FRAME_TOO_LARGE'],
    ['declared length 0xffff', [[0xff, 0xff, 1]], 'FRAME_TOO_LARGE'],
    ['1-byte first chunk', [[0]], 'FRAME_SHORT_HEADER'],
    ['first chunk overflows', [[...h(3), 1, 2, 3, 4]], 'FRAME_OVERFLOW'],
    ['two messages in one chunk', [[...h(1), 7, ...h(1), 8]], 'FRAME_OVERFLOW'],
    ['later chunk straddles', [[...h(20), ...new Array<number>(18).fill(1)], [1, 2, 3]], 'FRAME_OVERFLOW'],
    ['too many chunks (drip)', [[...h(30), 1], [2], [3]], 'FRAME_TOO_MANY_CHUNKS'],
  ];
  it.each(cases)('%s', (_name, chunks, code) => {
    const r = new Reassembler({ payloadBytes: P });
    const bytes = chunks.map((c) => Uint8Array.from(c));
    const last = bytes.pop()!;
    for (const c of bytes) expect(r.push(c, 0)).toBeNull();
    expectCode(() => r.push(last, 0), FramingError, code);
    expect(r.inProgress).toBe(false);
    expect(pushAll(r, fragment(fresh, P))).toEqual([fresh]);
  });

  it('allows a short non-final chunk if the chunk count still fits', () => {
    // 30 bytes framed = 32 → min 2 chunks; 16 + 16 is two chunks and legal.
    const m = msg(30);
    const framed = new Uint8Array(32);
    framed.set([0, 30]);
    framed.set(m, 2);
    const r = new Reassembler({ payloadBytes: P });
    expect(r.push(framed.subarray(0, 16), 0)).toBeNull();
    expect(r.push(framed.subarray(16), 0)).toEqual(m);
  });

  it('truncated message followed by a fresh one: the fresh header is misread, the error resets', () => {
    const r = new Reassembler({ payloadBytes: P });
    const long = fragment(msg(100), P);
    expect(r.push(long[0]!, 0)).toBeNull(); // rest of the message is lost
    // The next message's first chunk is taken as continuation: 20 bytes fit, so we get a chunk
    // count or overflow error only when the budget runs out; drive until an error or completion.
    const next = fragment(msg(10, 5), P);
    expect(r.push(next[0]!, 0)).toBeNull(); // absorbed as continuation (cannot be told apart)
    expect(r.inProgress).toBe(true);
    // The driver drops the stale partial via the timeout; then a fresh message succeeds.
    expect(r.expired(2_001)).toBe(true);
    r.reset();
    const again = msg(10, 6);
    expect(pushAll(r, fragment(again, P), 2_001)).toEqual([again]);
  });

  it('truncated message then a chunk that overflows: error, then recovery', () => {
    const r = new Reassembler({ payloadBytes: P });
    expect(r.push(fragment(msg(25), P)[0]!, 0)).toBeNull(); // 7 bytes still expected
    expectCode(() => r.push(fragment(msg(30), P)[0]!, 0), FramingError, 'FRAME_OVERFLOW');
    const m = msg(30, 1);
    expect(pushAll(r, fragment(m, P))).toEqual([m]);
  });
});

describe('framing: inter-chunk timeout', () => {
  it('accepts a gap equal to the timeout and rejects one longer', () => {
    const m = msg(50);
    const chunks = fragment(m, 20);
    const r = new Reassembler({ payloadBytes: 20, interChunkTimeoutMs: 100 });
    expect(r.push(chunks[0]!, 1000)).toBeNull();
    expect(r.expired(1100)).toBe(false);
    expect(r.push(chunks[1]!, 1100)).toBeNull();
    expect(r.expired(1201)).toBe(true);
    expectCode(() => r.push(chunks[2]!, 1201), FramingError, 'FRAME_TIMEOUT');
    expect(r.inProgress).toBe(false);
    expect(pushAll(r, chunks, 5000)).toEqual([m]);
  });
  it('uses the default timeout of 2000 ms', () => {
    const chunks = fragment(msg(50), 20);
    const r = new Reassembler({ payloadBytes: 20 });
    r.push(chunks[0]!, 0);
    expect(r.expired(2000)).toBe(false);
    expect(r.expired(2001)).toBe(true);
  });
  it('never expires when idle, and a first chunk after a long idle is fine', () => {
    const r = new Reassembler({ payloadBytes: 20, interChunkTimeoutMs: 10 });
    expect(r.expired(1e12)).toBe(false);
    const m = msg(5);
    expect(pushAll(r, fragment(m, 20), 1e12)).toEqual([m]);
  });
  it('reset drops a partial message', () => {
    const r = new Reassembler({ payloadBytes: 20 });
    r.push(fragment(msg(50), 20)[0]!, 0);
    expect(r.inProgress).toBe(true);
    r.reset();
    expect(r.inProgress).toBe(false);
    expect(r.expired(1e9)).toBe(false);
  });
});

describe('framing: properties', () => {
  it('fragment then push round-trips any message at any payload size', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: MAX_MESSAGE_BYTES }),
        fc.integer({ min: 20, max: 514 }),
        (m, payload) => {
          const chunks = fragment(m, payload);
          const r = new Reassembler({ payloadBytes: payload });
          const got = pushAll(r, chunks);
          return got.length === 1 && Buffer.from(got[0]!).equals(Buffer.from(m)) && !r.inProgress;
        },
      ),
      { numRuns: 300, seed: 0x5eed },
    );
  });

  it('garbage chunks never throw anything but FramingError, and recovery always works', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 30 }), { maxLength: 40 }),
        (garbage) => {
          const r = new Reassembler({ payloadBytes: 20 });
          for (const g of garbage) {
            try {
              r.push(g, 0);
            } catch (err) {
              if (!(err instanceof FramingError)) return false;
            }
          }
          r.reset();
          const m = msg(77);
          const got = pushAll(r, fragment(m, 20));
          return got.length === 1 && Buffer.from(got[0]!).equals(Buffer.from(m));
        },
      ),
      { numRuns: 500, seed: 0xbad },
    );
  });

  it('returned messages are fresh buffers independent of the chunks', () => {
    const chunks = fragment(msg(10), 20);
    const r = new Reassembler({ payloadBytes: 20 });
    const out = r.push(chunks[0]!, 0)!;
    chunks[0]![2] = 0xaa;
    expect(out[0]).toBe(0);
  });
});
