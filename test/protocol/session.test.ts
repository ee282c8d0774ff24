import { describe, expect, it } from 'vitest';
import { makeWorld } from '../helpers/world.js';
import { COMMAND } from '../../src/protocol/constants.js';

describe('session protocol v1 over the mock link', () => {
  it('unlocks on the full path in three messages, then locks on the fast path', async () => {
    const w = await makeWorld();
    const phone = await w.enrolledPhone();
    const id = w.vehicle.identity.vehicleId;

    const a = w.link();
    const s1 = await w.run(phone.connect(a.pair.phone, id, { id: COMMAND.unlock }));
    expect(s1.path).toBe('full');
    expect(s1.firstResult.ok).toBe(true);
    await w.run(s1.close());
    await w.run(a.served);
    const st = a.pair.stats;
    console.log(JSON.stringify(st));

    const b = w.link();
    const s2 = await w.run(phone.connect(b.pair.phone, id, { id: COMMAND.lock }, { resume: 'off' }));
    expect(s2.path).toBe('fast');
    expect(s2.firstResult.ok).toBe(true);
    await w.run(s2.close());
    await w.run(b.served);
    expect(w.executed.map((e) => [e.command, e.path])).toEqual([
      [COMMAND.unlock, 'full'],
      [COMMAND.lock, 'fast'],
    ]);
  });
});
