/**
 * Hardening, from the attacker's side: clock attacks (a clock set ahead to prune revocations,
 * set back to revive a key), the true bound of a copied ticket, and secrets at rest (a
 * read-only dump of the store is useless) — hardening items 6, 7 and 8.
 */
import { describe, expect, it } from 'vitest';
import { makeWorld, T0, type World } from '../helpers/world.js';
import { DAY, share, unlock } from '../helpers/sharing.js';
import { peekTicket } from '../helpers/attacks.js';
import { COMMAND, DEFAULT_MAX_TICKET_RENEWALS } from '../../src/protocol/constants.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { Vehicle } from '../../src/vehicle/vehicle.js';
import { createSoftwareKeyAgreement, type SoftwareKeyAgreement } from '../../src/crypto/key-agreement.js';
import { toHex } from '../../src/crypto/bytes.js';
import { Phone } from '../../src/phone/phone.js';
import { PhoneStore } from '../../src/phone/store.js';
import type { Clock } from '../../src/transport/clock.js';
import type { Vault } from '../../src/store/vault.js';
import { createNobleProvider } from '../../src/crypto/noble.js';

const YEAR = 365 * DAY;

/** The world's clock shifted by a settable skew (a car whose RTC is wrong). */
function skewedClock(w: World): Clock & { skewMs: number } {
  return {
    skewMs: 0,
    now() {
      return w.clock.now() + this.skewMs;
    },
    setTimeout: (fn, ms) => w.clock.setTimeout(fn, ms),
    clearTimeout: (h) => w.clock.clearTimeout(h),
  };
}

/** Re-creates the world's vehicle over the same store and identity key with another clock (a reboot). */
async function reboot(w: World, vault: Vault, identityKey: SoftwareKeyAgreement, clock: Clock): Promise<void> {
  const vehicle = await Vehicle.create({ crypto: w.crypto, store: await openVehicleStore(vault), identityKey, clock, handlers: { [COMMAND.unlock]: (ctx) => void w.executed.push({ command: ctx.command, keyId: ctx.keyId, path: ctx.path }) } });
  (w as { vehicle: Vehicle }).vehicle = vehicle;
}

async function rebootableWorld() {
  const vault = createMemoryVault();
  // A separate provider for the identity key is fine: the handle only needs ECDH.
  const identityKey = createSoftwareKeyAgreement(createNobleProvider());
  const w = await makeWorld({ store: await openVehicleStore(vault), identityKey });
  return { w, vault, identityKey };
}

describe('clock attacks', () => {
  it('a boot with the clock a year ahead cannot prune a revocation for good: the revoked friend stays out after the clock is corrected', async () => {
    const { w, vault, identityKey } = await rebootableWorld();
    const owner = await w.enrolledPhone();
    const friend = await w.newPhone();
    const { text } = await share(w, owner, friend, { notAfterMs: T0 + 30 * DAY });
    expect((await unlock(w, friend)).ok).toBe(true);
    await w.run(w.vehicle.revokeKey(friend.keyId));
    const clock = skewedClock(w);
    clock.skewMs = YEAR + DAY;
    await w.run(reboot(w, vault, identityKey, clock));
    clock.skewMs = 0;
    await w.run(reboot(w, vault, identityKey, clock));
    expect(w.vehicle.config.store.getRevokedKey(friend.keyId) !== undefined).toBe(true);
    await friend.importShare(text);
    expect((await unlock(w, friend)).code).toBe('REJECTED');
  });

  it('a clock set back does not revive an expired friend key: validity is judged against the durable time floor', async () => {
    const { w, vault, identityKey } = await rebootableWorld();
    const owner = await w.enrolledPhone();
    const friend = await w.newPhone();
    await share(w, owner, friend, { notAfterMs: T0 + 2 * DAY });
    expect((await unlock(w, friend)).ok).toBe(true);
    const clock = skewedClock(w);
    clock.skewMs = 3 * DAY; // the car lives past the friend's expiry...
    await w.run(reboot(w, vault, identityKey, clock));
    expect((await unlock(w, friend)).code).toBe('KEY_NOT_VALID_NOW');
    clock.skewMs = 0; // ...then someone sets its clock back
    await w.run(reboot(w, vault, identityKey, clock));
    expect(w.vehicle.now()).toBeGreaterThanOrEqual(T0 + 3 * DAY);
    expect((await unlock(w, friend)).code).toBe('KEY_NOT_VALID_NOW');
    expect((await unlock(w, owner)).ok).toBe(true);
  });
});

describe('tickets are bounded', () => {
  it(`a ticket copied from a phone gives at most ${DEFAULT_MAX_TICKET_RENEWALS + 1} fast unlocks; then only a signed full handshake works`, async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    expect((await unlock(w, owner)).ok).toBe(true); // full: a ticket with every renewal
    const stolen = (await peekTicket(owner, w.vehicle.identity.vehicleId))!;
    // The thief has the phone's ticket and the car's public data, but not the device key.
    const thief = new Phone({ crypto: w.crypto, clock: w.clock, signer: { publicKey: owner.publicKey, sign: () => Promise.reject(new Error('no device key')) }, store: new PhoneStore(createMemoryVault()) });
    await thief.addVehicle({ ...w.vehicle.peer, name: 'car' });
    await thief.store.putTicket(w.vehicle.identity.vehicleId, stolen);
    let fast = 0;
    for (let i = 0; i < 20; i++) {
      const r = await unlock(w, thief);
      if (!r.ok) break;
      fast++;
    }
    expect(fast).toBe(DEFAULT_MAX_TICKET_RENEWALS + 1);
    expect(w.executed.slice(1).every((e) => e.path === 'fast')).toBe(true);
    // The owner's own ticket was spent by the thief's first use: its next unlock is a full one.
    expect((await unlock(w, owner)).ok).toBe(true);
    expect(w.executed.at(-1)!.path).toBe('full');
  });

  it('the renewal cap is configurable', async () => {
    const w = await makeWorld({ maxTicketRenewals: 1 });
    const owner = await w.enrolledPhone();
    for (let i = 0; i < 4; i++) expect((await unlock(w, owner)).ok).toBe(true);
    expect(w.executed.map((e) => e.path)).toEqual(['full', 'fast', 'fast', 'full']);
  });
});

describe('secrets at rest', () => {
  it('a read-only dump of the vehicle store holds neither the identity key nor a usable ticket secret', async () => {
    const { w, vault, identityKey } = await rebootableWorld();
    const owner = await w.enrolledPhone();
    expect((await unlock(w, owner)).ok).toBe(true);
    const ticket = (await peekTicket(owner, w.vehicle.identity.vehicleId))!;
    let dump = '';
    for (const name of await vault.list()) dump += name + '=' + toHex((await vault.get(name))!) + '\n' + new TextDecoder().decode((await vault.get(name))!) + '\n';
    const secrets = [toHex(identityKey.exportPrivateKey()), toHex(ticket.resumptionSecret), toHex(w.vehicle.ticketSealKey)];
    for (const s of secrets) expect(dump).not.toContain(s);
    // The store and another key: the car refuses to run as the stored identity.
    await expect(Vehicle.create({ crypto: w.crypto, store: await openVehicleStore(vault), identityKey: createSoftwareKeyAgreement(w.crypto) })).rejects.toMatchObject({ code: 'IDENTITY_KEY_MISMATCH' });
    await expect(Vehicle.create({ crypto: w.crypto, store: await openVehicleStore(vault) })).rejects.toMatchObject({ code: 'IDENTITY_KEY_REQUIRED' });
  });

  it('the advertising key comes from its own secret and rotates without re-keying the car', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const before = w.vehicle.advertisingKey.slice();
    const identityPublic = w.vehicle.identity.publicKey.slice();
    await w.run(w.vehicle.rotateAdvertisingKey());
    expect(toHex(w.vehicle.advertisingKey)).not.toBe(toHex(before));
    expect(toHex(w.vehicle.identity.publicKey)).toBe(toHex(identityPublic));
    expect((await unlock(w, owner)).ok).toBe(true);
  });
});
