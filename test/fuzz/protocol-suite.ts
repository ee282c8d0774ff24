/**
 * CI fuzzing of one group of protocol decoders: at least 100,000 inputs per target (env
 * FUZZ_COUNT overrides), typed errors only, no prototype pollution, none over 50 ms. The groups
 * live in separate test files so vitest runs them in parallel.
 */
import { describe, expect, it } from 'vitest';
import { DigitalKeyError } from '../../src/errors.js';
import { MAX_INPUT_MS, fuzzDecoder } from './harness.js';
import { protocolTargets } from './protocol-targets.js';

const COUNT = Number(process.env.FUZZ_COUNT ?? 100_000);

/** Defines the fuzz tests of one target group. */
export async function describeProtocolFuzz(group: 'session' | 'lifecycle', seedBase: number): Promise<void> {
  const targets = (await protocolTargets())[group];
  describe(`protocol fuzz targets (${group})`, () => {
    it.each(targets.map((target, index) => ({ ...target, index })))(
      '$name survives fuzzing',
      ({ name, decode, seeds, index }) => {
        // Seeds are valid encodings; a seed may still fail authentication (typed), never crash.
        for (const s of seeds) {
          try {
            decode(s);
          } catch (e) {
            expect(e).toBeInstanceOf(DigitalKeyError);
          }
        }
        const result = fuzzDecoder(name, decode, seeds, COUNT, seedBase + index);
        expect(result.count).toBe(COUNT);
        expect(result.accepted + result.typedErrors).toBe(COUNT);
        expect(result.maxMs).toBeLessThanOrEqual(MAX_INPUT_MS);
      },
      180_000,
    );
  });
}
