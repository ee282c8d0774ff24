/**
 * The rotating advertising pseudonym and the advertising payload: a known answer computed with
 * node:crypto independently, slot arithmetic at the boundaries, the ±1-slot skew window, the
 * resolver cache, and hostile scanned input (which must never throw).
 */
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { createNobleProvider } from '../../src/crypto/noble.js';
import type { PairedVehicle } from '../../src/phone/store.js';
import {
  DEFAULT_COMPANY_ID,
  DK_SERVICE_UUID,
  PSEUDONYM_BYTES,
  compactUuid,
  encodeAdvertisingData,
  pseudonymFromManufacturerData,
  uuidBytesLittleEndian,
} from '../../src/ble/profile.js';
import {
  PseudonymResolver,
  computePseudonym,
  currentPseudonym,
  nextRotationAtMs,
  pseudonymSlot,
  resolvePseudonym,
} from '../../src/ble/pseudonym.js';
import { isPairingCandidate, vehicleOfAdvertisement, type ScannedAdvertisement } from '../../src/ble/advert.js';
import type { GattSettle } from '../../src/ble/gatt-op.js';
import { runScan } from '../../src/ble/scan.js';
import { AbortError, TimeoutError, UsageError } from '../../src/errors.js';
import { VirtualClock } from '../../src/transport/mock/virtual-clock.js';
import { parseEir } from './fake-radio.js';

const crypto = createNobleProvider();

/**
 * noble's own advertisement parser (lib/hci-socket/gap.js). Loading it loads the optional native
 * HCI module (no socket is opened); where that module is not built, the cross-check is skipped.
 */
const nobleGap = (() => {
  try {
    return createRequire(import.meta.url)('@abandonware/noble/lib/hci-socket/gap.js') as {
      prototype: { parseServices(this: unknown, address: string, eir: Buffer, seen: boolean, type: number, tx?: number): Record<string, unknown> };
    };
  } catch {
    return null;
  }
})();
const ROTATION = 300_000;
const T = Date.UTC(2026, 0, 1, 12, 0, 0);

function car(fill: number, name = `car${fill}`): PairedVehicle {
  return { vehicleId: new Uint8Array(16).fill(fill), publicKey: new Uint8Array(33), name, advertisingKey: new Uint8Array(32).fill(fill) };
}

describe('pseudonym', () => {
  it('is HMAC-SHA256(key, "DK1 adv" ‖ u64be(slot)) truncated to 6 bytes (checked with node:crypto)', () => {
    const key = new Uint8Array(32).map((_, i) => i);
    const slot = 5_894_304;
    const input = Buffer.concat([Buffer.from('DK1 adv'), Buffer.from([0, 0, 0, 0, 0, 0x59, 0xf0, 0xa0])]);
    expect(input.readUInt32BE(11)).toBe(slot);
    const expected = createHmac('sha256', key).update(input).digest().subarray(0, 6);
    expect(Buffer.from(computePseudonym(crypto, key, slot))).toEqual(expected);
    expect(computePseudonym(crypto, key, slot)).toHaveLength(PSEUDONYM_BYTES);
  });

  it('changes at every slot boundary and nowhere else', () => {
    const key = car(1).advertisingKey!;
    const start = Math.ceil(T / ROTATION) * ROTATION;
    const table: Array<[number, number]> = [
      [start - 1, -1],
      [start, 0],
      [start + 1, 0],
      [start + ROTATION - 1, 0],
      [start + ROTATION, 1],
    ];
    const base = pseudonymSlot(start, ROTATION);
    for (const [t, d] of table) expect(pseudonymSlot(t, ROTATION), `t=${t}`).toBe(base + d);
    expect(currentPseudonym(crypto, key, start, ROTATION)).toEqual(currentPseudonym(crypto, key, start + ROTATION - 1, ROTATION));
    expect(currentPseudonym(crypto, key, start, ROTATION)).not.toEqual(currentPseudonym(crypto, key, start + ROTATION, ROTATION));
    expect(nextRotationAtMs(start, ROTATION)).toBe(start + ROTATION);
    expect(nextRotationAtMs(start + ROTATION - 1, ROTATION)).toBe(start + ROTATION);
  });

  it('differs between vehicles and between slots (no linkable pattern across 100 slots)', () => {
    const seen = new Set<string>();
    for (const fill of [1, 2, 3]) {
      for (let slot = 0; slot < 100; slot++) seen.add(Buffer.from(computePseudonym(crypto, car(fill).advertisingKey!, slot)).toString('hex'));
    }
    expect(seen.size).toBe(300);
  });

  it('resolves the current slot and ±1 (clock skew), not ±2', () => {
    const vehicles = [car(1), car(2), car(3)];
    const advertised = currentPseudonym(crypto, vehicles[1]!.advertisingKey!, T, ROTATION);
    const table: Array<[number, string | null]> = [
      [T, 'car2'],
      [T + ROTATION, 'car2'],
      [T - ROTATION, 'car2'],
      [T + 2 * ROTATION, null],
      [T - 2 * ROTATION, null],
    ];
    const resolver = new PseudonymResolver(crypto, vehicles, ROTATION);
    for (const [now, expected] of table) {
      expect(resolvePseudonym(crypto, advertised, vehicles, now, ROTATION)?.name ?? null, `now=${now}`).toBe(expected);
      expect(resolver.resolve(advertised, now)?.name ?? null, `resolver now=${now}`).toBe(expected);
    }
  });

  it('skips vehicles without a usable advertising key', () => {
    const noKey: PairedVehicle = { ...car(4), advertisingKey: undefined };
    const shortKey: PairedVehicle = { ...car(5), advertisingKey: new Uint8Array(8) };
    const p = currentPseudonym(crypto, car(6).advertisingKey!, T, ROTATION);
    expect(resolvePseudonym(crypto, p, [noKey, shortKey, car(6)], T, ROTATION)?.name).toBe('car6');
    expect(new PseudonymResolver(crypto, [noKey, shortKey], ROTATION).resolve(p, T)).toBeNull();
  });

  it('never throws on hostile scanned input: wrong lengths and types give null', () => {
    const vehicles = [car(1)];
    const resolver = new PseudonymResolver(crypto, vehicles, ROTATION);
    for (const bad of [undefined, null, 'abcdef', 42, {}, [1, 2, 3, 4, 5, 6], new Uint8Array(0), new Uint8Array(5), new Uint8Array(7), new Uint16Array(6)]) {
      expect(resolvePseudonym(crypto, bad, vehicles, T, ROTATION)).toBeNull();
      expect(resolver.resolve(bad, T)).toBeNull();
    }
  });

  it('refuses the caller’s bad arguments with UsageError', () => {
    for (const f of [
      () => pseudonymSlot(-1),
      () => pseudonymSlot(Number.NaN),
      () => pseudonymSlot(T, 1_000),
      () => pseudonymSlot(T, 10_000.5),
      () => computePseudonym(crypto, new Uint8Array(15), 1),
      () => computePseudonym(crypto, new Uint8Array(32), -1),
      () => computePseudonym(crypto, new Uint8Array(32), 2 ** 53),
      () => new PseudonymResolver(crypto, [], 0),
    ]) {
      expect(f).toThrow(UsageError);
    }
  });
});

describe('advertising payload', () => {
  it('is 31 bytes: flags, the 128-bit service UUID, and manufacturer data with the pseudonym', () => {
    const pseudonym = Uint8Array.of(1, 2, 3, 4, 5, 6);
    const ad = encodeAdvertisingData(pseudonym, 0x1234);
    expect(ad).toHaveLength(31);
    expect(Buffer.from(ad.subarray(0, 3)).toString('hex')).toBe('020106');
    expect(ad[3]).toBe(17);
    expect(ad[4]).toBe(0x07);
    expect(ad.subarray(5, 21)).toEqual(uuidBytesLittleEndian(DK_SERVICE_UUID));
    expect(Buffer.from(ad.subarray(21)).toString('hex')).toBe('09ff3412010203040506');
    const parsed = parseEir(Buffer.from(ad));
    expect(parsed.serviceUuids).toEqual([compactUuid(DK_SERVICE_UUID)]);
    expect(pseudonymFromManufacturerData(parsed.manufacturerData, 0x1234)).toEqual(pseudonym);
  });

  it.skipIf(nobleGap === null)('noble’s own HCI parser reads the service UUID and the pseudonym from it', () => {
    const pseudonym = currentPseudonym(crypto, car(9).advertisingKey!, T, ROTATION);
    const ad = nobleGap!.prototype.parseServices.call({ _discoveries: {} }, 'c0:00:00:00:00:01', Buffer.from(encodeAdvertisingData(pseudonym)), false, 0);
    expect(ad.serviceUuids).toEqual([compactUuid(DK_SERVICE_UUID)]);
    expect(ad.localName).toBeUndefined();
    expect(resolvePseudonym(crypto, pseudonymFromManufacturerData(ad.manufacturerData), [car(8), car(9)], T, ROTATION)?.name).toBe('car9');
  });

  it('the UUID goes on the air little-endian', () => {
    const bytes = uuidBytesLittleEndian('00112233-4455-6677-8899-aabbccddeeff');
    expect(Buffer.from(bytes).toString('hex')).toBe('ffeeddccbbaa99887766554433221100');
  });

  it('manufacturer data from another company, of the wrong length or type, is not a pseudonym', () => {
    const good = Uint8Array.of(0xff, 0xff, 1, 2, 3, 4, 5, 6);
    expect(pseudonymFromManufacturerData(good)).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6));
    expect(pseudonymFromManufacturerData(good, 0x004c)).toBeNull();
    for (const bad of [undefined, null, 'ffff010203040506', good.subarray(0, 7), Uint8Array.of(...good, 7), [0xff, 0xff, 1, 2, 3, 4, 5, 6]]) {
      expect(pseudonymFromManufacturerData(bad)).toBeNull();
    }
    expect(DEFAULT_COMPANY_ID).toBe(0xffff);
  });

  it('refuses a pseudonym of the wrong size and a company id outside 16 bits', () => {
    expect(() => encodeAdvertisingData(new Uint8Array(8))).toThrow(UsageError);
    expect(() => encodeAdvertisingData(new Uint8Array(6), 0x10000)).toThrow(UsageError);
    expect(() => encodeAdvertisingData(new Uint8Array(6), -1)).toThrow(UsageError);
    expect(() => compactUuid('not-a-uuid')).toThrow(UsageError);
  });
});

describe('scan-report matching (advert.ts)', () => {
  const pseudonymOf = (c: PairedVehicle): Uint8Array => currentPseudonym(crypto, c.advertisingKey!, T, ROTATION);
  const report = (pseudonym: Uint8Array | null, extra: Partial<ScannedAdvertisement> = {}): ScannedAdvertisement => ({
    serviceUuids: [DK_SERVICE_UUID.toUpperCase()],
    manufacturerData: pseudonym === null ? null : Uint8Array.of(0xff, 0xff, ...pseudonym),
    ...extra,
  });

  it('names the paired car whose pseudonym a report carries, and nothing for anything else', () => {
    const resolver = new PseudonymResolver(crypto, [car(1), car(2)], ROTATION);
    expect(vehicleOfAdvertisement(report(pseudonymOf(car(2))), resolver, T)?.name).toBe('car2');
    expect(vehicleOfAdvertisement(report(pseudonymOf(car(3))), resolver, T)).toBeNull();
    expect(vehicleOfAdvertisement(report(pseudonymOf(car(2)), { connectable: false }), resolver, T)).toBeNull();
    expect(vehicleOfAdvertisement(report(pseudonymOf(car(2)), { serviceUuids: ['180f'] }), resolver, T)).toBeNull();
    expect(vehicleOfAdvertisement(report(pseudonymOf(car(2))), resolver, T, 0x004c)).toBeNull();
  });

  it('a pairing candidate advertises the service with a well-formed pseudonym of no known car; hostile reports are not', () => {
    const known = new PseudonymResolver(crypto, [car(1)], ROTATION);
    expect(isPairingCandidate(report(pseudonymOf(car(3))), null, T)).toBe(true);
    expect(isPairingCandidate(report(pseudonymOf(car(3))), known, T)).toBe(true);
    expect(isPairingCandidate(report(pseudonymOf(car(1))), known, T)).toBe(false);
    expect(isPairingCandidate(report(null), null, T)).toBe(false);
    expect(isPairingCandidate(report(Uint8Array.of(1, 2, 3)), null, T)).toBe(false);
    expect(isPairingCandidate(report(pseudonymOf(car(3)), { connectable: false }), null, T)).toBe(false);
    const hostile = { get serviceUuids(): never { throw new Error('hostile getter'); } } as unknown as ScannedAdvertisement;
    expect(isPairingCandidate(hostile, null, T)).toBe(false);
    expect(isPairingCandidate(null as unknown as ScannedAdvertisement, null, T)).toBe(false);
  });
});

describe('runScan', () => {
  const scan = (clock: VirtualClock, atDeadline: () => string, signal?: AbortSignal) => {
    const stops: number[] = [];
    let settle: GattSettle<string> | null = null;
    const p = runScan<string>({ clock, timeoutMs: 1_000, signal, atDeadline, start: (s) => ((settle = s), () => stops.push(clock.now())) });
    return { p, stops, settle: () => settle! };
  };

  it('stops exactly once, whether a report, the deadline or an abort ends it, and leaves no timer', async () => {
    const clock = new VirtualClock(T);
    const found = scan(clock, () => 'deadline');
    found.settle().resolve('match');
    found.settle().reject(new Error('late'));
    expect(await found.p).toBe('match');
    expect(found.stops).toEqual([T]);

    const late = scan(clock, () => 'heard so far');
    await clock.advance(1_000);
    expect(await late.p).toBe('heard so far');
    expect(late.stops).toHaveLength(1);

    const controller = new AbortController();
    const aborted = scan(clock, () => 'deadline', controller.signal);
    controller.abort();
    await expect(aborted.p).rejects.toBeInstanceOf(AbortError);
    expect(aborted.stops).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a deadline that throws rejects; a refusal while starting stops at once; an aborted signal never starts', async () => {
    const clock = new VirtualClock(T);
    const none = scan(clock, () => {
      throw new TimeoutError('BLE_SCAN_TIMEOUT', 'nothing');
    });
    const timedOut = expect(none.p).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(1_000);
    await timedOut;
    let stopped = 0;
    const refused = runScan<string>({ clock, timeoutMs: 1_000, atDeadline: () => 'x', start: (s) => (s.reject(new Error('refused')), () => (stopped += 1)) });
    await expect(refused).rejects.toThrow('refused');
    expect(stopped).toBe(1);
    let started = false;
    const never = runScan<string>({ clock, timeoutMs: 1_000, signal: AbortSignal.abort(), atDeadline: () => 'x', start: () => ((started = true), () => {}) });
    await expect(never).rejects.toBeInstanceOf(AbortError);
    expect(started).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });
});
