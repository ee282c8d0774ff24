import { describe, expect, it } from 'vitest';
import { makeWorld, sleep, T0, type World } from '../helpers/world.js';
import { COMMAND, MGMT_COMMAND } from '../../src/protocol/constants.js';
import { decodeShareBundle, encodeShareBundle, issueGrant } from '../../src/protocol/grant.js';
import { toHex } from '../../src/crypto/bytes.js';
import { encodeMessage, decodeMessage } from '../../src/wire/schema.js';
import { KeyArgSchema, KeyPageSchema } from '../../src/protocol/management.js';
import type { Phone } from '../../src/phone/phone.js';
import { DAY, share, unlock } from '../helpers/sharing.js';

describe('offline key sharing', () => {
  it('a friend unlocks with a grant, is enrolled with narrowed rights, and fits in a QR code', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const friend = await w.newPhone();
    const { text } = await share(w, owner, friend);
    expect(text.length).toBeLessThan(600);
    expect((await unlock(w, friend)).ok).toBe(true);
    const rec = w.vehicle.config.store.getKey(friend.keyId)!;
    expect(rec.role).toBe('friend');
    expect(rec.commands).toEqual([COMMAND.unlock, COMMAND.lock]);
    // Second time: the registry knows the key, the grant is no longer sent, and the fast path works.
    expect((await unlock(w, friend)).ok).toBe(true);
    expect(w.executed.map((e) => e.path)).toEqual(['full', 'fast']);
  });

  const refusals: Array<[string, (w: World, owner: Phone, friend: Phone) => Promise<void>, string]> = [
    ['expired', async (w, o, f) => void (await share(w, o, f, { notBeforeMs: T0 - 10 * DAY, notAfterMs: T0 - DAY })), 'GRANT_EXPIRED'],
    ['not yet valid', async (w, o, f) => void (await share(w, o, f, { notBeforeMs: T0 + DAY, notAfterMs: T0 + 2 * DAY })), 'GRANT_NOT_YET_VALID'],
    [
      'wrong vehicle',
      async (w, o, f) => {
        const grant = await issueGrant(w.crypto, (o as unknown as { signer: Phone['signer'] }).signer, {
          vehicleId: new Uint8Array(16).fill(7),
          subjectKey: f.publicKey,
          commands: [COMMAND.unlock],
          notBeforeMs: T0 - DAY,
          notAfterMs: T0 + DAY,
        });
        await f.importShare(encodeShareBundle({ vehicleId: w.vehicle.identity.vehicleId, vehiclePublicKey: w.vehicle.identity.publicKey, grants: [grant] }));
      },
      'GRANT_WRONG_VEHICLE',
    ],
    [
      'tampered',
      async (w, o, f) => {
        const { text } = await share(w, o, f);
        const b = decodeShareBundle(text);
        const g = b.grants[0]!;
        g[g.length - 70]! ^= 1; // inside the signed body
        await f.importShare(encodeShareBundle(b));
      },
      'GRANT_',
    ],
    [
      'issuer revoked',
      async (w, o, f) => {
        const second = await w.enrolledPhone();
        await share(w, second, f);
        await w.run(w.vehicle.revokeKey(second.keyId));
      },
      // The revoked key id is remembered: its old bundles are refused by name, not as unknown.
      'GRANT_ISSUER_REVOKED',
    ],
    ['escalation: commands the issuer lacks', async (w, o, f) => {
      const mid = await w.newPhone();
      await share(w, o, mid, { commands: [COMMAND.unlock], canShare: true });
      expect((await unlock(w, mid)).ok).toBe(true);
      await share(w, mid, f, { commands: [COMMAND.unlock, COMMAND.start] });
    }, 'GRANT_ESCALATION_COMMANDS'],
    ['escalation: re-share without permission', async (w, o, f) => {
      const mid = await w.newPhone();
      await share(w, o, mid, { commands: [COMMAND.unlock] });
      expect((await unlock(w, mid)).ok).toBe(true);
      await share(w, mid, f, { commands: [COMMAND.unlock] });
    }, 'GRANT_ISSUER_CANNOT_SHARE'],
    ['escalation: longer validity', async (w, o, f) => {
      const mid = await w.newPhone();
      await share(w, o, mid, { commands: [COMMAND.unlock], canShare: true, notAfterMs: T0 + DAY });
      expect((await unlock(w, mid)).ok).toBe(true);
      await share(w, mid, f, { commands: [COMMAND.unlock], notAfterMs: T0 + 30 * DAY });
    }, 'GRANT_ESCALATION_VALIDITY'],
    ['chain too long', async (w, o, f) => {
      let issuer = o;
      for (let i = 0; i < 3; i++) {
        const next = await w.newPhone();
        await share(w, issuer, next, { commands: [COMMAND.unlock], canShare: true });
        expect((await unlock(w, next)).ok).toBe(true);
        issuer = next;
      }
      await share(w, issuer, f, { commands: [COMMAND.unlock] });
    }, 'GRANT_CHAIN_TOO_LONG'],
  ];

  for (const [name, setup, detail] of refusals) {
    it(`refuses a grant: ${name}; nothing runs and the reason is audited`, async () => {
      const w = await makeWorld();
      const owner = await w.enrolledPhone();
      const friend = await w.newPhone();
      await setup(w, owner, friend);
      const before = w.executed.length;
      const err = await unlock(w, friend);
      expect(err.code).toBe('REJECTED');
      expect(w.executed.length).toBe(before);
      expect(w.vehicle.config.store.getKey(friend.keyId)).toBeUndefined();
      const audit = await w.vehicle.readAudit();
      expect(audit.at(-1)!.detail).toContain(detail);
    });
  }

  it('a use limit is enforced and never given back', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const friend = await w.newPhone();
    await share(w, owner, friend, { useLimit: 2 });
    expect((await unlock(w, friend)).ok).toBe(true);
    expect((await unlock(w, friend)).ok).toBe(true);
    expect((await unlock(w, friend)).code).toBe('USE_LIMIT_REACHED');
    expect(w.executed).toHaveLength(2);
  });
});

describe('revocation and management', () => {
  it('the owner lists and revokes a friend over the air; the grant cannot be presented again', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const friend = await w.newPhone();
    const { text } = await share(w, owner, friend);
    expect((await unlock(w, friend)).ok).toBe(true);

    const l = w.link();
    const s = await w.run(owner.connect(l.pair.phone, w.vehicle.identity.vehicleId, { id: MGMT_COMMAND.listKeys }));
    const page = decodeMessage(KeyPageSchema, s.firstResult.data!);
    expect(page.total).toBe(2);
    const r = await w.run(s.send({ id: MGMT_COMMAND.revokeKey, data: encodeMessage(KeyArgSchema, { keyId: friend.keyId }) }));
    expect(r.ok).toBe(true);
    const last = await w.run(s.send({ id: MGMT_COMMAND.revokeKey, data: encodeMessage(KeyArgSchema, { keyId: owner.keyId }) }).catch((e) => e));
    expect(last.code).toBe('NOT_PERMITTED');
    await w.run(s.close());
    await w.run(l.served);

    // Re-presenting the same grant (a fresh import) is refused: the grant id is remembered.
    await friend.importShare(text);
    expect((await unlock(w, friend)).code).toBe('REJECTED');
    expect((await w.vehicle.readAudit()).at(-1)!.detail).toBe('GRANT_REVOKED');
  });

  it('revocation cuts an open session at once', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const friend = await w.newPhone();
    await share(w, owner, friend);
    const l = w.link();
    const s = await w.run(friend.connect(l.pair.phone, w.vehicle.identity.vehicleId, { id: COMMAND.unlock }));
    expect(s.firstResult.ok).toBe(true);
    await w.run(w.vehicle.revokeKey(friend.keyId));
    const err = await w.run(s.send({ id: COMMAND.lock }).catch((e) => e));
    expect(err).toHaveProperty('code');
    expect(w.executed.map((e) => e.command)).toEqual([COMMAND.unlock]);
    await w.run(l.served);
  });

  it('suspend and resume take effect; the owner reads the audit log', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const friend = await w.newPhone();
    await share(w, owner, friend);
    expect((await unlock(w, friend)).ok).toBe(true);
    const l = w.link();
    const s = await w.run(owner.connect(l.pair.phone, w.vehicle.identity.vehicleId, { id: MGMT_COMMAND.suspendKey, data: encodeMessage(KeyArgSchema, { keyId: friend.keyId }) }));
    expect(s.firstResult.ok).toBe(true);
    const audit = await w.run(s.send({ id: MGMT_COMMAND.readAudit }));
    expect(audit.data!.length).toBeGreaterThan(10);
    await w.run(s.close());
    await w.run(l.served);
    expect((await unlock(w, friend)).code).toBe('KEY_SUSPENDED');
    await w.run(w.vehicle.config.store.putKey({ ...w.vehicle.config.store.getKey(friend.keyId)!, suspended: false }));
    expect((await unlock(w, friend)).ok).toBe(true);
    expect(toHex(friend.keyId)).toHaveLength(16);
  });

  it('factory reset needs a physical confirmation and erases every key', async () => {
    const w = await makeWorld();
    await w.enrolledPhone();
    await expect(w.vehicle.factoryReset({} as { confirmed: true })).rejects.toThrow(/physical/);
    await w.run(w.vehicle.factoryReset({ confirmed: true }));
    expect(w.vehicle.listKeys()).toHaveLength(0);
    await sleep(w, 1);
  });
});
