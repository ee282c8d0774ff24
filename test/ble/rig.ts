/**
 * Set-up shared by the BLE tests: a virtual clock, the fake radio, a real noble on fake
 * bindings, and helpers to count listeners (the adapters must leave none behind).
 */

import type { EventEmitter } from 'node:events';
import { expect } from 'vitest';
import { loadNoble, type NobleLike, type NoblePeripheralLike } from '../../src/ble/noble.js';
import { startBlenoPeripheral, type BlenoPeripheralHandle } from '../../src/ble/bleno.js';
import type { BleLink } from '../../src/ble/chunk-link.js';
import { connectNobleLink, scanForVehicle, type NobleLink, type NobleLinkOptions } from '../../src/ble/noble.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import type { PairedVehicle } from '../../src/phone/store.js';
import { VirtualClock } from '../../src/transport/mock/virtual-clock.js';
import { seededRandom, T0 } from '../helpers/world.js';
import type { LinkPairHarness } from '../transport/link-conformance.js';
import { FakeRadio, type FakeBleno, type FakeNobleBindings, type FakeRadioOptions } from './fake-radio.js';

/** A paired-vehicle record with only what scanning needs. */
export function scanTarget(advertisingKey: Uint8Array, name = 'car'): PairedVehicle {
  return { vehicleId: advertisingKey.slice(0, 16), publicKey: new Uint8Array(33), name, advertisingKey };
}

/** Counts of every listener on an emitter, by event. */
export function listenerCounts(emitter: EventEmitter): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of emitter.eventNames()) out[String(name)] = emitter.listenerCount(name);
  return out;
}

/** The noble objects of a connected peripheral: itself, its services and characteristics. */
export function nobleObjects(peripheral: NoblePeripheralLike): EventEmitter[] {
  const p = peripheral as unknown as EventEmitter & { services?: Array<EventEmitter & { characteristics?: EventEmitter[] }> | null };
  const out: EventEmitter[] = [p];
  for (const s of p.services ?? []) {
    out.push(s);
    for (const c of s.characteristics ?? []) out.push(c);
  }
  return out;
}

/** Asserts that no listener is left on the peripheral, its services and characteristics. */
export function expectNoListeners(peripheral: NoblePeripheralLike): void {
  for (const o of nobleObjects(peripheral)) expect(listenerCounts(o)).toEqual({});
}

/**
 * The fake radio on a fresh virtual clock, with the phone's side of the air (`bindings`, the
 * noble bindings every phone model sits on): what vehicles and every phone rig share.
 */
export interface RadioRig {
  clock: VirtualClock;
  radio: FakeRadio;
  bindings: FakeNobleBindings;
  crypto: CryptoProvider;
  run<T>(p: Promise<T>): Promise<T>;
}

/** Options of {@link makeRadioRig}: `phoneMtu` is the MTU the phone's exchange asks for. */
export interface RadioRigOptions {
  phoneMtu?: number;
  radio?: FakeRadioOptions;
  clock?: VirtualClock;
  crypto?: CryptoProvider;
}

/** Builds a radio rig. */
export function makeRadioRig(options: RadioRigOptions = {}): RadioRig {
  const clock = options.clock ?? new VirtualClock(T0);
  const radio = new FakeRadio(clock, options.radio);
  const bindings = radio.phoneBindings(options.phoneMtu === undefined ? {} : { mtu: options.phoneMtu });
  const crypto = options.crypto ?? createNobleProvider({ randomBytes: seededRandom(7) });
  return { clock, radio, bindings, crypto, run: (p) => clock.runUntilSettled(p) };
}

/** A radio with a phone on real noble (on the fake bindings). */
export interface Rig extends RadioRig {
  noble: NobleLike;
}

/** Builds a rig with a noble phone. */
export function makeRig(options: RadioRigOptions = {}): Rig {
  const rig = makeRadioRig(options);
  return { ...rig, noble: loadNoble({ bindings: rig.bindings }) };
}

/** A bare peripheral (no Vehicle) whose links land in `links`. */
export interface PeripheralSide {
  bleno: FakeBleno;
  handle: BlenoPeripheralHandle;
  links: BleLink[];
  advertisingKey: Uint8Array;
}

/** Starts a bare digital-key peripheral on a new radio vehicle at `address`. */
export async function startPeripheral(rig: RadioRig, address: string, keyByte: number, options: { maxMtu?: number } = {}): Promise<PeripheralSide> {
  const bleno = rig.radio.addVehicle(address, options);
  const advertisingKey = new Uint8Array(32).fill(keyByte);
  const links: BleLink[] = [];
  const handle = await rig.run(
    startBlenoPeripheral({ bleno, crypto: rig.crypto, clock: rig.clock, advertisingKey, onLink: (link) => links.push(link) }),
  );
  return { bleno, handle, links, advertisingKey };
}

/** Scans for `target` and connects: the phone's link. */
export async function connectTo(rig: Rig, target: PairedVehicle, options: NobleLinkOptions = {}): Promise<NobleLink> {
  const found = await rig.run(scanForVehicle({ noble: rig.noble, crypto: rig.crypto, vehicles: [target], timeoutMs: 5_000, clock: rig.clock }));
  return rig.run(connectNobleLink(found.peripheral, { clock: rig.clock, ...options }));
}

/** Options of {@link peripheralHarness}. */
export interface PeripheralHarnessOptions<L extends BleLink> {
  /** The phone's link to the peripheral. */
  connect(side: PeripheralSide): Promise<L>;
  /** Virtual ms to let pass before taking the vehicle's link (a platform that confirms no subscription). */
  settleMs?: number;
  /** Checks that the phone side left nothing behind, after both ends closed and the peripheral stopped. */
  expectPhoneClean(link: L): Promise<void>;
}

/**
 * A Link conformance harness: a phone adapter's link ↔ a bare bleno peripheral's link on `rig`.
 * Teardown closes both ends, stops the peripheral, and checks that neither side left a timer or
 * a listener behind.
 */
export async function peripheralHarness<L extends BleLink>(rig: RadioRig, options: PeripheralHarnessOptions<L>): Promise<LinkPairHarness> {
  const side = await startPeripheral(rig, 'c0:00:00:00:00:01', 0x21);
  const a = await options.connect(side);
  if (options.settleMs !== undefined) await rig.clock.advance(options.settleMs);
  const b = side.links[0];
  if (b === undefined) throw new Error('the peripheral made no link');
  return {
    a,
    b,
    run: rig.run,
    disconnect: async () => rig.radio.loseConnection(),
    teardown: async () => {
      await a.close('teardown');
      await b.close('teardown');
      await rig.run(side.handle.stop());
      await options.expectPhoneClean(a);
      expect(listenerCounts(side.bleno)).toEqual({ newListener: 1 });
    },
  };
}

/** A Link conformance harness over noble ↔ bleno. */
export function bleHarness(options: { phoneMtu?: number; radio?: FakeRadioOptions; link?: NobleLinkOptions } = {}): () => Promise<LinkPairHarness> {
  return async () => {
    const rig = makeRig(options);
    const nobleBefore = listenerCounts(rig.noble as unknown as EventEmitter);
    return peripheralHarness(rig, {
      connect: (side) => connectTo(rig, scanTarget(side.advertisingKey), options.link),
      expectPhoneClean: async (a) => {
        await rig.clock.advance(1_000);
        expect(rig.clock.pendingTimers, 'timers left behind').toBe(0);
        expectNoListeners(a.peripheral);
        expect(listenerCounts(rig.noble as unknown as EventEmitter)).toEqual(nobleBefore);
      },
    });
  };
}
