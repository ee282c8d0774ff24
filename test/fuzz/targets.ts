/**
 * Fuzz targets: every decoder of untrusted bytes, with seeds to mutate. A plain list: to add a
 * protocol message, append `schemaTarget(MySchema, [sample values…])` to {@link fuzzTargets}.
 */

import fc from 'fast-check';
import { FramingError } from '../../src/errors.js';
import { type CborValue, decodeCbor, encodeCbor } from '../../src/wire/cbor.js';
import { Reassembler, fragment } from '../../src/wire/framing.js';
import { type Schema, decodeMessage, encodeMessage } from '../../src/wire/schema.js';
import { AllTypes, Challenge, Deep, arbitraries } from '../wire/sample-schemas.js';

/** One decoder under fuzz. */
export interface FuzzTarget {
  /** Shown in reports. */
  name: string;
  /** Decodes one untrusted input; must throw only DigitalKeyError. */
  decode: (b: Uint8Array) => unknown;
  /** Valid (and a few interesting invalid) inputs that mutations start from. */
  seeds: Uint8Array[];
}

/** Seed values drawn deterministically from an arbitrary. */
function samples<T>(arb: fc.Arbitrary<T>, n: number, seed: number): T[] {
  return fc.sample(arb, { numRuns: n, seed });
}

/** A target decoding `schema`, seeded with the encodings of `values`. */
export function schemaTarget<T>(schema: Schema<T>, values: T[]): FuzzTarget {
  return {
    name: `schema:${schema.name}`,
    decode: (b) => decodeMessage(schema, b),
    seeds: values.map((v) => encodeMessage(schema, v)),
  };
}

/** Generic strict CBOR values covering every major type the subset allows. */
const GENERIC_SEEDS: CborValue[] = [
  0,
  23,
  24,
  65536,
  2 ** 32,
  Number.MAX_SAFE_INTEGER,
  true,
  '',
  'héllo 😀',
  new Uint8Array(40).fill(7),
  [1, [2, [3, [4]]]],
  new Map<number, CborValue>([
    [0, 1],
    [1, new Uint8Array([1, 2, 3])],
    [23, 'x'],
    [24, [true, false]],
    [300, new Map<number, CborValue>([[0, 'a'.repeat(30)]])],
  ]),
];

/**
 * Reassembler fed a stream read from the input: each control byte `c` is followed by a chunk of
 * `c & 0x3f` bytes; bit 7 advances the clock past the inter-chunk timeout, and bit 6 makes the
 * driver drop a stale partial message (`expired` → `reset`) first. Keeps going after a FramingError (recovery is what we test),
 * then rethrows the first one so the harness counts it.
 */
function reassemblerDecode(input: Uint8Array): Uint8Array[] {
  const r = new Reassembler({ payloadBytes: 20, maxMessageBytes: 512, interChunkTimeoutMs: 2_000 });
  const messages: Uint8Array[] = [];
  let first: FramingError | null = null;
  let now = 0;
  let at = 0;
  while (at < input.length) {
    const control = input[at] ?? 0;
    const chunk = input.subarray(at + 1, at + 1 + (control & 0x3f));
    at += 1 + chunk.length;
    now += control & 0x80 ? 2_500 : 10;
    if (control & 0x40 && r.expired(now)) r.reset();
    try {
      const m = r.push(chunk, now);
      if (m !== null) {
        if (m.length < 1 || m.length > 512) throw new Error('reassembler returned a bad message');
        messages.push(m);
      }
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      first ??= err;
    }
  }
  if (first !== null) throw first;
  return messages;
}

/** Encodes chunks as the control-byte stream {@link reassemblerDecode} reads. */
function streamOf(chunks: Uint8Array[]): Uint8Array {
  const parts: number[] = [];
  for (const c of chunks) parts.push(c.length, ...c);
  return Uint8Array.from(parts);
}

function reassemblerSeeds(): Uint8Array[] {
  const seeds: Uint8Array[] = [];
  for (const size of [1, 17, 18, 19, 20, 38, 39, 100, 512]) {
    const m = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
    seeds.push(streamOf(fragment(m, 20, 512)));
    seeds.push(streamOf([...fragment(m, 20, 512), ...fragment(m.subarray(0, 1 + (size >> 1)), 20, 512)]));
  }
  return seeds;
}

/** Every fuzz target. */
export function fuzzTargets(): FuzzTarget[] {
  return [
    { name: 'cbor:generic', decode: (b) => decodeCbor(b), seeds: GENERIC_SEEDS.map((v) => encodeCbor(v)) },
    schemaTarget(Challenge, samples(arbitraries.challenge, 24, 1)),
    schemaTarget(AllTypes, samples(arbitraries.allTypes, 24, 2)),
    schemaTarget(Deep, samples(arbitraries.deep, 12, 3)),
    { name: 'framing:Reassembler', decode: reassemblerDecode, seeds: reassemblerSeeds() },
  ];
}
