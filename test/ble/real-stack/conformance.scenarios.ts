/**
 * The Link conformance suite (test/transport/link-conformance.ts) on the real stacks: the phone's
 * noble link is end `a`, the vehicle's bleno link end `b`, over an emulated radio in real time.
 * Each test gets a fresh pair of controllers; radio loss is the car's stack dropping the link.
 */
import { expect } from 'vitest';
import { startBlenoPeripheral } from '../../../src/ble/bleno.js';
import type { BleLink } from '../../../src/ble/chunk-link.js';
import { connectNobleLink, scanForVehicle } from '../../../src/ble/noble.js';
import { describeLinkConformance, type LinkPairHarness } from '../../transport/link-conformance.js';
import { scanTarget } from '../rig.js';
import { crypto, until } from './cars.js';
import { newBleno, newNoble } from './stack.js';

/** A harness factory over a fresh car (bleno capped at `maxMtu`) and phone. */
function realHarness(maxMtu: number, writeWithoutResponse = true): () => Promise<LinkPairHarness> {
  return async () => {
    const { bleno, socket: carSocket } = newBleno(maxMtu);
    const { noble, socket: phoneSocket } = newNoble();
    const advertisingKey = new Uint8Array(32).fill(0x21);
    const links: BleLink[] = [];
    const handle = await startBlenoPeripheral({ bleno, crypto, advertisingKey, closeLingerMs: 200, onLink: (l) => links.push(l) });
    const found = await scanForVehicle({ noble, crypto, vehicles: [scanTarget(advertisingKey)], timeoutMs: 5_000 });
    const a = await connectNobleLink(found.peripheral, { writeWithoutResponse });
    await until(() => links.length > 0, 3_000, 'the car to make its link');
    const b = links[0]!;
    return {
      a,
      b,
      run: (p) => p,
      disconnect: async () => bleno.disconnect(),
      teardown: async () => {
        await a.close('teardown');
        await b.close('teardown');
        await handle.stop();
        expect(a.isClosed && b.isClosed).toBe(true);
        phoneSocket.vanish();
        carSocket.vanish();
      },
    };
  };
}

/**
 * The suite at MTU 23 (the most chunks), with write responses. Not
 * with writes without response: noble 1.9.2-26 reports such a write as done when it enters its
 * own ACL queue (gatt.js `_queueCommand` writeCallback), so a whole 4 KB send resolves before any
 * disconnect can reach it, and "a send in progress is rejected" cannot hold (docs/BLE.md §8).
 */
export function conformanceScenarios(): void {
  // MTU 23 only: "a send in progress is rejected" needs the disconnect to land while chunks are
  // still on the air. btvirt has no air time, so at MTU 185/256 a 4 KB send (23 or 17 acknowledged
  // writes) sometimes finishes before bleno's disconnect reaches the controller (seen once in CI
  // at 185); at MTU 23 it is 205 writes. The other MTUs are covered by the unlock scenarios.
  describeLinkConformance('real stack noble ↔ bleno, MTU 23, writes with response', realHarness(23, false));
}
