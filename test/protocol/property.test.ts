/**
 * Property (issue 3): whatever an attacker on the radio path does to a session — drop, flip a
 * bit, delay (reorder), duplicate, or replay any earlier message of the link in either
 * direction — the vehicle executes only commands the phone sent, each at most once, in the
 * order sent; serve() resolves; the phone only ever sees typed errors; a command the phone saw
 * succeed did run; and a command the phone was told did not run, did not run.
 *
 * fast-check with a fixed seed, so the run is deterministic; everything is on virtual time.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { makeWorld } from '../helpers/world.js';
import { flipBit } from '../helpers/attacks.js';
import type { AdversaryAction, Adversary } from '../../src/transport/mock/index.js';
import { AuthenticationError, DigitalKeyError, TransportError, UsageError } from '../../src/errors.js';
import type { CommandContext } from '../../src/vehicle/run-handler.js';
import type { PhoneSession } from '../../src/phone/phone.js';

/** App-defined command whose argument byte numbers the request, so executions can be matched to sends. */
const NUMBERED = 130;
const COMMANDS_PER_SESSION = 4;

type Act =
  | { t: 'deliver' }
  | { t: 'drop' }
  | { t: 'flip'; at: number; bit: number }
  | { t: 'delay'; ms: number }
  | { t: 'duplicate' }
  | { t: 'replace'; k: number }
  | { t: 'inject'; k: number };

const actArb: fc.Arbitrary<Act> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Act>({ t: 'deliver' }) },
  { weight: 1, arbitrary: fc.constant<Act>({ t: 'drop' }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('flip' as const), at: fc.nat(200), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('delay' as const), ms: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 4_000, max: 8_000 })) }) },
  { weight: 1, arbitrary: fc.constant<Act>({ t: 'duplicate' }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('replace' as const), k: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('inject' as const), k: fc.nat(20) }) },
);

/** Applies acts[i] to the i-th message on the link (both directions, in send order). */
function scriptedAdversary(acts: readonly Act[]): Adversary {
  const seen: Uint8Array[] = [];
  return (event) => {
    const act = acts[seen.length] ?? { t: 'deliver' };
    const earlier = seen.length > 0 ? seen[('k' in act ? act.k : 0) % seen.length]! : undefined;
    seen.push(event.bytes);
    const b = event.bytes;
    switch (act.t) {
      case 'deliver':
        return undefined;
      case 'drop':
        return { type: 'drop' };
      case 'flip':
        return { type: 'modify', bytes: flipBit(b, act.at % b.length, act.bit) };
      case 'delay':
        return { type: 'delay', ms: act.ms };
      case 'duplicate':
        return { type: 'duplicate' };
      case 'replace':
        return earlier ? { type: 'modify', bytes: earlier } : undefined;
      case 'inject':
        return earlier ? ([{ type: 'deliver' }, { type: 'modify', bytes: earlier }] satisfies AdversaryAction[]) : undefined;
    }
  };
}

describe('property: an active attacker never makes the vehicle run what the phone did not send', () => {
  it('executes only sent commands, each at most once, in order; answers are never false', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(actArb, { minLength: 1, maxLength: 14 }), async (fast, acts) => {
        runs++;
        const w = await makeWorld({}, 1000 + runs);
        const ran: number[] = [];
        w.vehicle.config.handlers.set(NUMBERED, (ctx: CommandContext) => {
          ran.push(ctx.data![0]!);
        });
        const phone = await w.enrolledPhone();
        const id = w.vehicle.identity.vehicleId;
        if (fast) {
          // Give the phone a ticket, so the attacked session starts on the fast path.
          const clean = w.link();
          await w.run(phone.command(clean.pair.phone, id, { id: 1 }));
          await w.run(clean.served);
        }

        const { pair, served } = w.link({ adversary: scriptedAdversary(acts) });
        const sent: number[] = [];
        const succeeded: number[] = [];
        let failure: { error: DigitalKeyError; command: number } | undefined;
        const drive = async () => {
          let session: PhoneSession | undefined;
          try {
            for (let n = 1; n <= COMMANDS_PER_SESSION; n++) {
              const request = { id: NUMBERED, data: Uint8Array.of(n) };
              sent.push(n);
              if (!session) {
                session = await phone.connect(pair.phone, id, request);
                if (session.firstResult.ok) succeeded.push(n);
              } else {
                if ((await session.send(request)).ok) succeeded.push(n);
              }
            }
          } catch (e) {
            if (!(e instanceof DigitalKeyError)) throw e;
            failure = { error: e, command: sent.at(-1)! };
          } finally {
            await (session ? session.close() : pair.phone.close());
          }
        };
        await w.run(drive());
        await w.run(served); // resolves, never rejects
        expect(w.vehicle.activeConnections).toBe(0);

        // Only commands the phone sent, each at most once, in the order sent.
        for (const n of ran) expect(sent).toContain(n);
        for (let i = 1; i < ran.length; i++) expect(ran[i]!).toBeGreaterThan(ran[i - 1]!);
        // A success the phone saw is true.
        for (const n of succeeded) expect(ran).toContain(n);
        if (failure) {
          expect(failure.error).not.toBeInstanceOf(UsageError);
          expect(failure.error.code).not.toBe('INTERNAL');
          // "It did not run" is true.
          if (!failure.error.mayHaveSucceeded) expect(ran).not.toContain(failure.command);
        } else {
          expect(ran).toEqual(sent);
        }
      }),
      { numRuns: 100, seed: 0x5eed, endOnFailure: true },
    );
  });
});
