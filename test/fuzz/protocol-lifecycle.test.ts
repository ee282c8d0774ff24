/**
 * CI fuzzing of the protocol decoders (lifecycle group): at least 100,000 inputs per target
 * (env FUZZ_COUNT overrides), typed errors only, no prototype pollution, none over 50 ms.
 */
import { describe, expect, it } from 'vitest';
import { MAX_INPUT_MS, fuzzDecoder } from './harness.js';
import { DigitalKeyError } from '../../src/errors.js';
import { protocolTargets } from './protocol-targets.js';

const COUNT = Number(process.env.FUZZ_COUNT ?? 100_000);
const targets = (await protocolTargets()).lifecycle;

describe('protocol fuzz targets (lifecycle)', () => {
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
      const result = fuzzDecoder(name, decode, seeds, COUNT, 0xd1ce + index);
      expect(result.count).toBe(COUNT);
      expect(result.accepted + result.typedErrors).toBe(COUNT);
      expect(result.maxMs).toBeLessThanOrEqual(MAX_INPUT_MS);
    },
    180_000,
  );
});
