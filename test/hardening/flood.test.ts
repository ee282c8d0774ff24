/**
 * Hardening, from the attacker's side: silent links cannot lock the owner out, memory stays
 * bounded under a flood, junk cannot rotate real records out of the audit log, and cutting
 * the link cannot hide an executed command (hardening items 4 and 5).
 *
 * The flood: N keyless links take the Challenge, stay silent, and reconnect 1 ms after each
 * drop, for as long as the owner keeps trying.
 */
import { describe, expect, it } from 'vitest';
import { makeWorld, type World } from '../helpers/world.js';
import { auditTap, recordingAdversary, tamperOne } from '../helpers/attacks.js';
import { COMMAND } from '../../src/protocol/constants.js';
import type { Phone } from '../../src/phone/phone.js';

/** Starts `n` silent attackers that reconnect 1 ms after every drop; returns a stop function. */
function silentFlood(w: World, n: number): { stop: () => Promise<void>; connections: () => number } {
  let running = true;
  let connections = 0;
  const loops: Promise<void>[] = [];
  const one = async (): Promise<void> => {
    while (running) {
      connections++;
      const { served } = w.link();
      await served;
      await new Promise<void>((r) => w.clock.setTimeout(() => r(), 1));
    }
  };
  for (let i = 0; i < n; i++) loops.push(one());
  return {
    stop: async () => {
      running = false;
      await w.run(Promise.all(loops));
    },
    connections: () => connections,
  };
}

/** The owner tries to unlock until it works; returns the number of attempts (at most 10). */
async function attemptsUntilUnlocked(w: World, owner: Phone): Promise<number> {
  for (let attempt = 1; attempt <= 10; attempt++) {
    const l = w.link();
    const ok = await w.run(owner.command(l.pair.phone, w.vehicle.identity.vehicleId, { id: COMMAND.unlock }).then((r) => r.ok, () => false));
    if (ok) return attempt;
  }
  return Infinity;
}

describe('no lockout by silent peers', () => {
  const cases: Array<[number, number | undefined]> = [
    [8, undefined],
    [100, undefined],
  ];
  for (const [n, fifo] of cases) {
    it(`with ${n} silent links reconnecting 1 ms after each drop${fifo ? ` and a ${fifo}-place FIFO` : ''}, the owner unlocks within 2 attempts, 10 times over 50 s`, async () => {
      const w = await makeWorld(fifo ? { maxPendingHandshakes: fifo } : {});
      const owner = await w.enrolledPhone();
      const flood = silentFlood(w, n);
      const attempts: number[] = [];
      for (let i = 0; i < 10; i++) {
        await w.run(new Promise<void>((r) => w.clock.setTimeout(() => r(), 5_000)));
        attempts.push(await attemptsUntilUnlocked(w, owner));
      }
      await flood.stop();
      console.log(`flood ${n} links${fifo ? ` (FIFO ${fifo})` : ''}: owner attempts per unlock ${attempts.join(',')}; ${flood.connections()} hostile connections; ${w.vehicle.admission.evictions} evictions`);
      expect(Math.max(...attempts)).toBeLessThanOrEqual(2);
      expect(w.vehicle.admission.pendingCount).toBeLessThanOrEqual(w.vehicle.config.maxPendingHandshakes);
    });
  }

  it('1,000 half-open links at once: pending handshakes stay at the bound and memory stays bounded', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const links = Array.from({ length: 1_000 }, () => w.link());
    await w.run(new Promise<void>((r) => w.clock.setTimeout(() => r(), 100)));
    const pending = w.vehicle.admission.pendingCount;
    const active = w.vehicle.activeConnections;
    expect(pending).toBe(w.vehicle.config.maxPendingHandshakes);
    expect(active).toBeLessThanOrEqual(w.vehicle.config.maxPendingHandshakes + w.vehicle.config.maxConcurrentHandshakes);
    expect(w.vehicle.admission.evictions).toBe(1_000 - pending);
    // The owner still gets in while the survivors wait.
    expect(await attemptsUntilUnlocked(w, owner)).toBe(1);
    await w.run(Promise.all(links.map((l) => l.served)));
    console.log(`1,000 half-open links: ${pending} pending, ${active} served, ${w.vehicle.admission.evictions} evicted`);
  });
});

describe('the audit log cannot be blinded', () => {
  it('a relay that drops msg 3 cannot hide the unlock: the command is recorded before its answer', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const { adversary } = recordingAdversary(tamperOne('toPhone', 1, () => ({ type: 'drop' })));
    const l = w.link({ adversary });
    const err = await w.run(owner.command(l.pair.phone, w.vehicle.identity.vehicleId, { id: COMMAND.unlock }).catch((e: { mayHaveSucceeded: boolean }) => e));
    await w.run(l.pair.phone.close('relay cut'));
    await w.run(l.served);
    expect(err).toMatchObject({ mayHaveSucceeded: true });
    expect(w.executed).toHaveLength(1);
    const audit = await w.vehicle.readAudit();
    expect(audit).toContainEqual(expect.objectContaining({ keyId: expect.any(String), command: COMMAND.unlock, path: 'full', outcome: 'OK' }));
  });

  it('a dropped in-session Result cannot hide the command either', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const { adversary } = recordingAdversary(tamperOne('toPhone', 2, () => ({ type: 'drop' })));
    const l = w.link({ adversary });
    const s = await w.run(owner.connect(l.pair.phone, w.vehicle.identity.vehicleId, { id: COMMAND.unlock }));
    await w.run(s.send({ id: COMMAND.trunk }).catch(() => undefined));
    await w.run(l.pair.phone.close('relay cut'));
    await w.run(l.served);
    expect(await w.vehicle.readAudit()).toContainEqual(expect.objectContaining({ command: COMMAND.trunk, outcome: 'OK' }));
  });

  it('500 junk connections do not rotate authenticated records out: they are summarised with a count', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    expect((await attemptsUntilUnlocked(w, owner))).toBe(1);
    const tap = auditTap(w.vehicle);
    for (let i = 0; i < 500; i++) {
      const l = w.link();
      await w.run(l.pair.phone.receive({ timeoutMs: 1000 }).then(() => l.pair.phone.send(new Uint8Array([0xff, 1, 2]))));
      await w.run(l.served);
    }
    // One more minute: the summary of the suppressed ones is written with the next record.
    await w.run(new Promise<void>((r) => w.clock.setTimeout(() => r(), 61_000)));
    expect((await attemptsUntilUnlocked(w, owner))).toBe(1);
    const audit = await w.vehicle.readAudit(100_000);
    const junk = audit.filter((e) => e.keyId === undefined && e.outcome !== 'UNAUTHENTICATED_SUPPRESSED');
    const summary = audit.filter((e) => e.outcome === 'UNAUTHENTICATED_SUPPRESSED');
    expect(tap.filter((e) => e.keyId === undefined).length).toBeGreaterThanOrEqual(500);
    expect(junk.length).toBeLessThanOrEqual(40);
    expect(summary.reduce((n, e) => n + (e.count ?? 0), 0) + junk.length).toBeGreaterThanOrEqual(500);
    expect(audit.filter((e) => e.keyId !== undefined && e.outcome === 'OK')).toHaveLength(2);
  });
});
