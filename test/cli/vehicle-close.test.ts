/**
 * Vehicle.close(), the daemon's clean shutdown: every open session ends (the phone sees its link
 * close), serve() returns, and the store is closed only after them. Virtual time, mock link.
 */
import { describe, expect, it } from 'vitest';
import { createNodeProvider } from '../../src/crypto/node.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { createMockLinkPair, VirtualClock } from '../../src/transport/mock/index.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { Vehicle } from '../../src/vehicle/vehicle.js';

describe('Vehicle.close', () => {
  it('ends open sessions, lets serve() return, then closes the store', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const vault = createMemoryVault();
    const vehicle = await Vehicle.create({ crypto: createNodeProvider(), clock, store: await openVehicleStore(vault) });
    const pairs = [createMockLinkPair({ clock }), createMockLinkPair({ clock })];
    let served = 0;
    const serving = pairs.map((p) => vehicle.serve(p.vehicle).then(() => served++));
    // Each phone has its challenge: the sessions are open and waiting for an Auth.
    for (const p of pairs) expect((await clock.runUntilSettled(p.phone.receive())).length).toBeGreaterThan(0);
    expect(vehicle.activeConnections).toBe(2);
    const phoneClosed = pairs.map((p) => new Promise((r) => p.phone.onClose(r)));

    await clock.runUntilSettled(vehicle.close('test shutdown'));

    expect(served).toBe(2);
    expect(vehicle.activeConnections).toBe(0);
    for (const info of await clock.runUntilSettled(Promise.all(phoneClosed))) expect(info).toMatchObject({ by: 'remote' });
    await clock.runUntilSettled(Promise.all(serving));
    await expect(vault.get('identity')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
