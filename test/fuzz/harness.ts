/**
 * A small deterministic mutation fuzzer for decoders of untrusted bytes.
 *
 * Feeds `count` inputs to `decode`: purely random byte strings, and seeds mutated by bit flips,
 * byte insertion/deletion, truncation, splicing two seeds, slice duplication (deeper nesting) and
 * length-field edits (a byte set to a CBOR head or an argument overwritten with an edge value).
 * Fails (throws {@link FuzzFailure}, with the input in hex) on:
 * - any thrown value that is not a DigitalKeyError (an untyped error reached the caller);
 * - any change to Object.prototype, Array.prototype or Function.prototype (prototype pollution);
 * - any single input taking over {@link MAX_INPUT_MS} ms. An input over {@link RETIME_ABOVE_MS}
 *   is re-run twice and the fastest run counts, so a GC pause or a busy CI core does not fail the
 *   run (or inflate `maxMs`) but an input that is really slow (super-linear work) does.
 *   `rawMaxMs` reports the slowest first run, noise included.
 */

import { DigitalKeyError } from '../../src/errors.js';

/** Longest time one input may take, in ms (the issue requires none over 50 ms). */
export const MAX_INPUT_MS = 50;
/** Inputs slower than this on their first run are re-timed, in ms. */
export const RETIME_ABOVE_MS = 1;

/** Outcome of one fuzz run. */
export interface FuzzResult {
  /** Inputs fed to the decoder. */
  count: number;
  /** Inputs rejected with a DigitalKeyError. */
  typedErrors: number;
  /** Inputs the decoder accepted. */
  accepted: number;
  /** Slowest single input, in ms (for inputs over RETIME_ABOVE_MS, the fastest of three runs). */
  maxMs: number;
  /** Slowest first run of any input, in ms, including GC pauses and scheduler noise. */
  rawMaxMs: number;
  /** How many inputs were rejected with each error code: shows which rules the run reached. */
  codes: Record<string, number>;
}

/** A fuzz run found a bug. */
export class FuzzFailure extends Error {
  constructor(
    readonly target: string,
    readonly kind: 'untyped-error' | 'prototype-pollution' | 'too-slow',
    readonly input: Uint8Array,
    detail: string,
    cause?: unknown,
  ) {
    super(`fuzz ${target}: ${kind}: ${detail}; input=${Buffer.from(input).toString('hex')}`, { cause });
    this.name = 'FuzzFailure';
  }
}

/** sfc32-style 32-bit PRNG seeded with splitmix32: deterministic across runs and platforms. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }

  /** Random element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

/** Head bytes that change a CBOR item's type or declared size (RFC 8949 §3). */
const INTERESTING_HEADS = [
  0x00, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x20, 0x38, 0x3b, 0x40, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5f, 0x60,
  0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7f, 0x80, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9f, 0xa0, 0xb7, 0xb8, 0xb9, 0xba, 0xbb,
  0xbf, 0xc0, 0xd8, 0xd9, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xff,
];
/** Tag heads cbor-x would act on: 27, 28, 29, 64, 105, 259. */
const TAG_PREFIXES = [[0xd8, 0x1b], [0xd8, 0x1c], [0xd8, 0x1d], [0xd8, 0x40], [0xd8, 0x69], [0xd9, 0x01, 0x03]];
/** Edge values written over 1, 2, 4 or 8 argument bytes. */
const EDGE_BYTES = [0x00, 0x01, 0x17, 0x18, 0x7f, 0x80, 0xfe, 0xff];

type Mutator = (input: Uint8Array, rng: Rng, seeds: readonly Uint8Array[]) => Uint8Array;

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const MUTATORS: readonly Mutator[] = [
  // Bit flips.
  (input, rng) => {
    const out = input.slice();
    if (out.length === 0) return out;
    for (let k = 1 + rng.below(3); k > 0; k--) {
      const at = rng.below(out.length);
      out[at] = (out[at] ?? 0) ^ (1 << rng.below(8));
    }
    return out;
  },
  // Random byte overwrite.
  (input, rng) => {
    const out = input.slice();
    if (out.length > 0) out[rng.below(out.length)] = rng.u32() & 0xff;
    return out;
  },
  // Byte insert.
  (input, rng) => {
    const at = rng.below(input.length + 1);
    return concat(input.subarray(0, at), rng.bytes(1 + rng.below(4)), input.subarray(at));
  },
  // Byte delete.
  (input, rng) => {
    if (input.length === 0) return input.slice();
    const at = rng.below(input.length);
    return concat(input.subarray(0, at), input.subarray(at + 1 + rng.below(3)));
  },
  // Truncation.
  (input, rng) => input.slice(0, rng.below(input.length + 1)),
  // Splice: a prefix of this input and a suffix of another seed.
  (input, rng, seeds) => {
    const other = rng.pick(seeds);
    return concat(input.subarray(0, rng.below(input.length + 1)), other.subarray(rng.below(other.length + 1)));
  },
  // Duplicate a slice (repeats headers: deeper nesting, duplicate keys, extra chunks).
  (input, rng) => {
    if (input.length === 0) return input.slice();
    const from = rng.below(input.length);
    const to = from + 1 + rng.below(Math.min(16, input.length - from));
    const copies = 1 + rng.below(8);
    const parts = [input.subarray(0, to)];
    for (let k = 0; k < copies; k++) parts.push(input.subarray(from, to));
    parts.push(input.subarray(to));
    return concat(...parts);
  },
  // Length-field edit: a byte becomes an interesting CBOR head.
  (input, rng) => {
    const out = input.slice();
    if (out.length > 0) out[rng.below(out.length)] = rng.pick(INTERESTING_HEADS);
    return out;
  },
  // Length-field edit: 1/2/4/8 bytes after a position set to an edge value (also hits the
  // framing u16 length prefix).
  (input, rng) => {
    const out = input.slice();
    if (out.length === 0) return out;
    const at = rng.below(out.length);
    const size = rng.pick([1, 2, 4, 8]);
    const fill = rng.pick(EDGE_BYTES);
    for (let k = 0; k < size && at + k < out.length; k++) out[at + k] = k === size - 1 ? rng.pick(EDGE_BYTES) : fill;
    return out;
  },
  // Tag injection: cbor-x's dangerous tags in front of an item.
  (input, rng) => {
    const at = rng.below(input.length + 1);
    return concat(input.subarray(0, at), Uint8Array.from(rng.pick(TAG_PREFIXES)), input.subarray(at));
  },
];

/** One fuzz input: random bytes (1 in 8), else 1–4 stacked mutations of a seed. */
function nextInput(rng: Rng, seeds: readonly Uint8Array[]): Uint8Array {
  if (seeds.length === 0 || rng.below(8) === 0) return rng.bytes(rng.below(rng.below(4) === 0 ? 600 : 48));
  let input = rng.pick(seeds);
  for (let k = 1 + rng.below(4); k > 0; k--) input = rng.pick(MUTATORS)(input, rng, seeds);
  return input;
}

/** Snapshot of the built-in prototypes an attacker would pollute. */
function prototypeSnapshot(): Map<unknown, PropertyDescriptor | undefined> {
  const snap = new Map<unknown, PropertyDescriptor | undefined>();
  for (const proto of [Object.prototype, Array.prototype, Function.prototype]) {
    for (const key of Reflect.ownKeys(proto)) snap.set([proto, key], Object.getOwnPropertyDescriptor(proto, key));
  }
  return snap;
}

function prototypeKeyCount(): number {
  return Reflect.ownKeys(Object.prototype).length + Reflect.ownKeys(Array.prototype).length + Reflect.ownKeys(Function.prototype).length;
}

/** Whether any snapshotted property changed (value, getter or setter). */
function prototypesChanged(snap: Map<unknown, PropertyDescriptor | undefined>, count: number): boolean {
  if (prototypeKeyCount() !== count) return true;
  for (const [pair, before] of snap) {
    const [proto, key] = pair as [object, PropertyKey];
    const now = Object.getOwnPropertyDescriptor(proto, key);
    if (now?.value !== before?.value || now?.get !== before?.get || now?.set !== before?.set) return true;
  }
  return false;
}

/**
 * Runs `decode` once; returns null if it accepted the input, else the typed error's code.
 * Rethrows anything untyped as a FuzzFailure.
 */
function runOnce(name: string, decode: (b: Uint8Array) => unknown, input: Uint8Array): string | null {
  try {
    decode(input.slice()); // a copy, so a decoder that mutates its input cannot affect the report
    return null;
  } catch (err) {
    if (err instanceof DigitalKeyError) return err.code;
    throw new FuzzFailure(name, 'untyped-error', input, String(err), err);
  }
}

/**
 * Fuzzes `decode` with `count` inputs derived from `seeds`, deterministically from `seed`.
 *
 * @throws FuzzFailure on an untyped error, prototype pollution, or an input over 50 ms.
 */
export function fuzzDecoder(
  name: string,
  decode: (b: Uint8Array) => unknown,
  seeds: Uint8Array[],
  count: number,
  seed: number,
): FuzzResult {
  const rng = new Rng(seed);
  const snapshot = prototypeSnapshot();
  const keyCount = prototypeKeyCount();
  const result: FuzzResult = { count: 0, typedErrors: 0, accepted: 0, maxMs: 0, rawMaxMs: 0, codes: {} };
  // Warm-up (JIT, lazy initialisation) so the first timed inputs measure the decoder, not V8.
  for (const s of seeds) runOnce(name, decode, s);
  for (let i = 0; i < count; i++) {
    const input = nextInput(rng, seeds);
    const start = performance.now();
    const code = runOnce(name, decode, input);
    const rawMs = performance.now() - start;
    let ms = rawMs;
    if (ms > RETIME_ABOVE_MS) ms = Math.min(ms, retime(name, decode, input), retime(name, decode, input));
    if (ms > MAX_INPUT_MS) throw new FuzzFailure(name, 'too-slow', input, `${ms.toFixed(1)} ms > ${MAX_INPUT_MS} ms`);
    // Cheap key-count check on every input; a full descriptor comparison every 4096 inputs.
    if (prototypeKeyCount() !== keyCount || ((i & 0xfff) === 0 && prototypesChanged(snapshot, keyCount))) {
      throw new FuzzFailure(name, 'prototype-pollution', input, 'a built-in prototype changed');
    }
    result.count += 1;
    if (code === null) result.accepted += 1;
    else {
      result.typedErrors += 1;
      result.codes[code] = (result.codes[code] ?? 0) + 1;
    }
    if (ms > result.maxMs) result.maxMs = ms;
    if (rawMs > result.rawMaxMs) result.rawMaxMs = rawMs;
  }
  if (prototypesChanged(snapshot, keyCount)) {
    throw new FuzzFailure(name, 'prototype-pollution', new Uint8Array(0), 'a built-in prototype changed during the run');
  }
  return result;
}

function retime(name: string, decode: (b: Uint8Array) => unknown, input: Uint8Array): number {
  const start = performance.now();
  runOnce(name, decode, input);
  return performance.now() - start;
}
