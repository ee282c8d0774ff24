/**
 * CI fuzzing: at least 100,000 inputs per target (override with env FUZZ_COUNT). No untyped
 * error, no prototype pollution, no single input over 50 ms (the harness re-times slow inputs).
 */

import { describe, expect, it } from 'vitest';
import { DigitalKeyError } from '../../src/errors.js';
import { FuzzFailure, MAX_INPUT_MS, Rng, fuzzDecoder } from './harness.js';
import { fuzzTargets } from './targets.js';

const COUNT = Number(process.env.FUZZ_COUNT ?? 100_000);

describe('fuzz targets', () => {
  it.each(fuzzTargets().map((target, index) => ({ ...target, index })))(
    '$name survives fuzzing',
    ({ name, decode, seeds, index }) => {
      // Seeds must decode: mutations start from valid inputs.
      for (const s of seeds) expect(() => decode(s)).not.toThrow();
      const result = fuzzDecoder(name, decode, seeds, COUNT, 0xc0ffee + index);
      expect(result.count).toBe(COUNT);
      expect(result.accepted + result.typedErrors).toBe(COUNT);
      expect(result.typedErrors).toBeGreaterThan(0);
      expect(result.maxMs).toBeLessThanOrEqual(MAX_INPUT_MS);
    },
    120_000,
  );
});

describe('the harness itself', () => {
  it('is deterministic for a seed', () => {
    const a = new Rng(5);
    const b = new Rng(5);
    const xs = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).toEqual(xs);
    expect(new Rng(6).u32()).not.toBe(xs[0]);
  });

  it('reports an untyped error with the input', () => {
    const decode = (b: Uint8Array): unknown => {
      if (b.length > 3) throw new TypeError('boom');
      throw new DigitalKeyError('X', 'typed');
    };
    expect(() => fuzzDecoder('t', decode, [new Uint8Array(8)], 1000, 1)).toThrow(FuzzFailure);
  });

  it('counts typed errors and accepted inputs', () => {
    const decode = (b: Uint8Array): unknown => {
      if (b.length % 2 === 1) throw new DigitalKeyError('ODD', 'odd');
      return b;
    };
    const r = fuzzDecoder('t', decode, [new Uint8Array(8)], 2000, 2);
    expect(r.count).toBe(2000);
    expect(r.accepted).toBeGreaterThan(0);
    expect(r.typedErrors).toBeGreaterThan(0);
  });

  it('detects prototype pollution', () => {
    const decode = (): unknown => {
      (Object.prototype as Record<string, unknown>).fuzzPolluted = true;
      return null;
    };
    try {
      let caught: unknown;
      try {
        fuzzDecoder('t', decode, [new Uint8Array(1)], 10, 3);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(FuzzFailure);
      expect((caught as FuzzFailure).kind).toBe('prototype-pollution');
    } finally {
      delete (Object.prototype as Record<string, unknown>).fuzzPolluted;
    }
  });

  it('detects an input that is consistently too slow', () => {
    const decode = (b: Uint8Array): unknown => {
      if (b.length === 0) {
        const until = performance.now() + MAX_INPUT_MS + 20;
        while (performance.now() < until) {
          // busy: a decoder stuck on this input
        }
      }
      return null;
    };
    let caught: unknown;
    try {
      fuzzDecoder('t', decode, [new Uint8Array(0)], 50, 4);
    } catch (err) {
      caught = err;
    }
    expect((caught as FuzzFailure).kind).toBe('too-slow');
  });
});
