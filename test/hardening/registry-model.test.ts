/**
 * Model check (fast-check, fixed seed, virtual time): random interleavings of first-use
 * enrollments, commands, revocations, suspensions and resumptions on a store whose writes take
 * 2 ms. Every event is numbered in the order it really happens (handler start, revocation
 * commit, suspension commit), and the test checks against that order:
 *
 * 1. no handler starts for a key after a revocation of it or of any issuer up its chain committed;
 * 2. no handler starts for a key while it or any enrolled issuer up its chain is suspended;
 * 3. at the end no enrolled key has a revoked key anywhere in its chain.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { makeWorld, T0, type World } from '../helpers/world.js';
import { DAY, share } from '../helpers/sharing.js';
import { slowVault } from '../helpers/slow-vault.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { toHex } from '../../src/crypto/bytes.js';
import type { Phone } from '../../src/phone/phone.js';

type Op = { kind: 'unlock' | 'revoke' | 'suspend' | 'resume'; who: number; at: number };

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom<Op['kind']>('unlock', 'unlock', 'unlock', 'revoke', 'suspend', 'resume'),
  who: fc.integer({ min: 0, max: 3 }),
  at: fc.integer({ min: 0, max: 400 }),
});

/** Actors: 0 = co-owner, 1 = friend of the owner, 2 = friend of the co-owner, 3 = friend of 2. */
async function cast(w: World): Promise<{ owner: Phone; actors: Phone[]; chains: string[][] }> {
  const owner = await w.run(w.enrolledPhone());
  const coOwner = await w.run(w.enrolledPhone());
  const f1 = await w.newPhone();
  const f2 = await w.newPhone();
  const f3 = await w.newPhone();
  const window = { notBeforeMs: T0 - DAY, notAfterMs: T0 + 30 * DAY };
  await share(w, owner, f1, window);
  await share(w, coOwner, f2, { ...window, canShare: true });
  await share(w, f2, f3, window);
  const id = (p: Phone) => toHex(p.keyId);
  // The chain of issuers above each actor, itself included.
  const chains = [[id(coOwner)], [id(f1), id(owner)], [id(f2), id(coOwner)], [id(f3), id(f2), id(coOwner)]];
  return { owner, actors: [coOwner, f1, f2, f3], chains };
}

describe('registry model: enrollment, revocation, suspension and dispatch interleaved', () => {
  it('no command starts after its key or an issuer was revoked or while suspended, whatever the interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 3, maxLength: 12 }), async (ops) => {
        const holder: { w?: World } = {};
        let seq = 0;
        const starts: Array<{ seq: number; key: string }> = [];
        const revokedAt = new Map<string, number>();
        const suspensions: Array<{ seq: number; key: string; suspended: boolean }> = [];
        const record = (ctx: { keyId: string }) => void starts.push({ seq: ++seq, key: ctx.keyId });
        const w = await makeWorld({ store: await openVehicleStore(slowVault(() => holder.w?.clock, 2)), handlers: { [COMMAND.unlock]: record } });
        holder.w = w;
        const { actors, chains } = await cast(w);
        // Number the commits themselves (not the API calls' completion): that is when they take effect.
        const store = w.vehicle.config.store;
        const revoke = store.revoke.bind(store);
        store.revoke = async (change) => {
          await revoke(change);
          const at = ++seq;
          for (const k of change.keys) if (!revokedAt.has(toHex(k.keyId))) revokedAt.set(toHex(k.keyId), at);
        };
        const putKey = store.putKey.bind(store);
        store.putKey = async (record) => {
          const before = store.getKey(record.keyId)?.suspended;
          await putKey(record);
          if (before !== undefined && before !== record.suspended) suspensions.push({ seq: ++seq, key: toHex(record.keyId), suspended: record.suspended });
        };
        const id = w.vehicle.identity.vehicleId;
        const run = async (op: Op) => {
          await new Promise<void>((r) => w.clock.setTimeout(() => r(), op.at));
          const actor = actors[op.who]!;
          if (op.kind === 'unlock') {
            const l = w.link();
            await actor.command(l.pair.phone, id, { id: COMMAND.unlock }).catch(() => undefined);
            await l.served;
            return;
          }
          if (!w.vehicle.config.store.getKey(actor.keyId)) return;
          if (op.kind === 'revoke') await w.vehicle.revokeKey(actor.keyId).catch(() => undefined);
          else await (op.kind === 'suspend' ? w.vehicle.suspendKey(actor.keyId) : w.vehicle.resumeKey(actor.keyId)).catch(() => undefined);
        };
        await w.run(Promise.all(ops.map(run)));
        const chainOf = (key: string) => chains.find((c) => c[0] === key) ?? [key];
        const suspendedAt = (key: string, at: number) => [...suspensions].reverse().find((s) => s.key === key && s.seq < at)?.suspended === true;
        for (const s of starts) {
          for (const link of chainOf(s.key)) {
            const r = revokedAt.get(link);
            expect(r === undefined || s.seq < r, `handler for ${s.key} started after ${link} was revoked`).toBe(true);
            // A revoked issuer cannot be suspended meanwhile; suspension is judged while enrolled.
            expect(suspendedAt(link, s.seq), `handler for ${s.key} started while ${link} was suspended`).toBe(false);
          }
        }
        for (const k of w.vehicle.listKeys()) {
          for (const link of chainOf(toHex(k.keyId))) expect(revokedAt.has(link), `${toHex(k.keyId)} enrolled under revoked ${link}`).toBe(false);
        }
      }),
      { numRuns: 40, seed: 9, endOnFailure: true },
    );
  });
});
