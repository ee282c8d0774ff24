/**
 * A radio without a radio: noble's bindings interface on the phone side and a bleno-shaped
 * object on the vehicle side, joined by simulated BLE connections on a VirtualClock.
 *
 * The phone side is driven through the REAL noble object model (`@abandonware/noble/with-bindings`
 * builds a Noble on {@link FakeNobleBindings}); the vehicle side's service is built from bleno's
 * REAL PrimaryService and Characteristic classes, whose events (`readRequest`, `writeRequest`,
 * `subscribe`, `unsubscribe`, `notify`) {@link FakeBleno} emits exactly as bleno's HCI GATT server
 * does. Between them every ATT PDU travels on the mock link's AirChannel: at connection events,
 * a few packets per event, in order, and lost when the connection drops.
 *
 * Behaviours copied from the real stacks because the adapters must cope with them:
 * - noble's HCI binding starts the MTU exchange (asking 256) right after connecting and reports
 *   it with 'onMtu'; bleno caps the MTU at 256 and emits 'mtuChange'.
 * - noble's HCI binding never emits 'write' (nor 'read') when the server answers with an ATT
 *   error, and reads values with Buffer methods (a plain Uint8Array write throws).
 * - bleno truncates read responses to MTU − 1 and notifications to MTU − 3, emits
 *   'unsubscribe' before 'disconnect', and restarts advertising after a disconnect.
 * - noble delivers a notification for any discovered characteristic, subscribed or not.
 */

import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { AirChannel, type AirTiming } from '../../src/transport/mock/air.js';
import type { VirtualClock } from '../../src/transport/mock/virtual-clock.js';

const requireCjs = createRequire(import.meta.url);

/** bleno's real GATT classes, loaded from its lib/ folder (no HCI socket is opened). */
export const BlenoPrimaryService = requireCjs('@abandonware/bleno/lib/primary-service.js') as new (options: unknown) => BlenoService;
export const BlenoCharacteristic = requireCjs('@abandonware/bleno/lib/characteristic.js') as (new (options: unknown) => BlenoChar) & {
  RESULT_SUCCESS: number;
  RESULT_INVALID_OFFSET: number;
  RESULT_ATTR_NOT_LONG: number;
  RESULT_INVALID_ATTRIBUTE_LENGTH: number;
  RESULT_UNLIKELY_ERROR: number;
};
/** noble's real Noble factory on injected bindings. */
export const nobleWithBindings = requireCjs('@abandonware/noble/with-bindings.js') as (bindings: unknown) => unknown;

/** What the fake needs from a bleno PrimaryService. */
interface BlenoService {
  uuid: string;
  characteristics: BlenoChar[];
}
/** What the fake needs from a bleno Characteristic (an EventEmitter). */
interface BlenoChar extends EventEmitter {
  uuid: string;
  properties: string[];
}

/** ATT MTU noble's HCI binding asks for (lib/hci-socket/gatt.js `_desired_mtu`). */
export const NOBLE_HCI_MTU = 256;
/** Largest ATT MTU bleno's HCI binding accepts (lib/hci-socket/gatt.js `maxMtu`). */
export const BLENO_MAX_MTU = 256;
/** The phone's (resolvable private) address as the vehicle sees it. */
export const CENTRAL_ADDRESS = '5a:11:22:33:44:55';
/** HCI disconnect reasons (Core v5.4 Vol 1 Part F). */
export const HCI = { connectionTimeout: 0x08, remoteUserTerminated: 0x13, localHostTerminated: 0x16 } as const;

/** What the vehicle's GATT server does with one phone write (the write adversary's verdict). */
export type WriteVerdict = 'deliver' | 'att-error' | 'no-response';

/** A write the phone put on the air, as the write adversary sees it. */
export interface WriteEvent {
  characteristic: string;
  data: Uint8Array;
  withoutResponse: boolean;
  /** 0-based count of writes on this connection. */
  index: number;
}

/** Knobs of the radio. */
export interface FakeRadioOptions {
  connectionIntervalMs?: number;
  packetsPerEvent?: number;
  /** Advertising interval of every vehicle, in ms. */
  advertisingIntervalMs?: number;
}

/** One live connection between the phone and a vehicle. */
class Connection {
  readonly toVehicle: AirChannel;
  readonly toPhone: AirChannel;
  mtu = 23;
  writes = 0;
  /** CCCD state per characteristic uuid. */
  readonly subscribed = new Set<string>();
  /** Characteristics the phone discovered (noble maps notifications only for those). */
  readonly discovered = new Set<string>();
  dead = false;

  constructor(
    readonly radio: FakeRadio,
    readonly vehicle: FakeBleno,
    readonly timing: AirTiming,
  ) {
    const clock = radio.clock;
    this.toVehicle = new AirChannel(clock, timing, () => {});
    this.toPhone = new AirChannel(clock, timing, () => {});
  }

  /** A PDU from the phone: `onArrived` runs when it reaches the vehicle. */
  up(onArrived: () => void): void {
    this.toVehicle.transmit([new Uint8Array(1)], onArrived);
  }

  /** A PDU from the vehicle: `onArrived` runs when it reaches the phone. */
  down(onArrived: () => void): void {
    this.toPhone.transmit([new Uint8Array(1)], onArrived);
  }

  kill(): void {
    this.dead = true;
    this.toVehicle.kill();
    this.toPhone.kill();
  }
}

/** The world: vehicles that advertise, one phone that scans and connects. */
export class FakeRadio {
  readonly clock: VirtualClock;
  readonly connectionIntervalMs: number;
  readonly packetsPerEvent: number;
  readonly advertisingIntervalMs: number;
  readonly vehicles: FakeBleno[] = [];
  connection: Connection | null = null;
  /** Decides the fate of each phone write (default: deliver). */
  writeAdversary: ((event: WriteEvent) => WriteVerdict) | undefined;
  /** Sees every notification the vehicle sends, e.g. to cut the link mid-message. */
  onNotification: ((data: Uint8Array, index: number) => void) | undefined;
  notifications = 0;
  /** When true, connection requests are never answered (a car that left, a busy controller). */
  ignoreConnectRequests = false;
  #phone: FakeNobleBindings | null = null;

  constructor(clock: VirtualClock, options: FakeRadioOptions = {}) {
    this.clock = clock;
    this.connectionIntervalMs = options.connectionIntervalMs ?? 15;
    this.packetsPerEvent = options.packetsPerEvent ?? 4;
    this.advertisingIntervalMs = options.advertisingIntervalMs ?? 100;
  }

  /** Adds a vehicle radio (a bleno-like object) at `address`. */
  addVehicle(address: string, options: { maxMtu?: number; rssi?: number } = {}): FakeBleno {
    const vehicle = new FakeBleno(this, address, options.maxMtu ?? BLENO_MAX_MTU, options.rssi ?? -60);
    this.vehicles.push(vehicle);
    return vehicle;
  }

  /** The phone's noble bindings; `mtu` is what its MTU exchange asks for (noble HCI: 256). */
  phoneBindings(options: { mtu?: number; state?: string } = {}): FakeNobleBindings {
    this.#phone = new FakeNobleBindings(this, options.mtu ?? NOBLE_HCI_MTU, options.state ?? 'poweredOn');
    return this.#phone;
  }

  get phone(): FakeNobleBindings {
    if (this.#phone === null) throw new Error('no phone bindings');
    return this.#phone;
  }

  /** Radio loss (supervision timeout): both sides learn at once, PDUs in flight are lost. */
  loseConnection(): void {
    const c = this.connection;
    if (c === null || c.dead) return;
    this.#tearDown(c, HCI.connectionTimeout);
  }

  /** Puts a notification on the air as if the vehicle had sent it, subscribed or not. */
  injectNotification(characteristic: string, data: Uint8Array): void {
    const c = this.connection;
    if (c === null) throw new Error('not connected');
    c.down(() => this.#phone?.deliverNotification(c, characteristic, Buffer.from(data)));
  }

  /** @internal Opens a connection from the phone to `vehicle`. */
  open(vehicle: FakeBleno): Connection {
    const c = new Connection(this, vehicle, {
      anchorMs: this.clock.now(),
      connectionIntervalMs: this.connectionIntervalMs,
      packetsPerEvent: this.packetsPerEvent,
      extraLatencyMs: 0,
    });
    this.connection = c;
    return c;
  }

  /** @internal Local disconnect by either side: the other learns one connection event later. */
  terminate(c: Connection, by: 'phone' | 'vehicle'): void {
    if (c.dead) return;
    c.kill();
    this.clock.setTimeout(() => this.#tearDown(c, by === 'phone' ? HCI.localHostTerminated : HCI.remoteUserTerminated, true), this.connectionIntervalMs);
  }

  #tearDown(c: Connection, phoneReason: number, alreadyKilled = false): void {
    if (!alreadyKilled && c.dead) return;
    c.kill();
    if (this.connection === c) this.connection = null;
    c.vehicle.connectionEnded(c);
    this.#phone?.connectionEnded(c, phoneReason);
  }
}

/** Parses advertising data the way noble's HCI gap.js does (lib/hci-socket/gap.js parseServices). */
export function parseEir(eir: Buffer): Record<string, unknown> {
  const ad: Record<string, unknown> = {
    localName: undefined,
    txPowerLevel: undefined,
    manufacturerData: undefined,
    serviceData: [],
    serviceUuids: [] as string[],
    solicitationServiceUuids: [],
    serviceSolicitationUuids: [],
  };
  let i = 0;
  while (i + 1 < eir.length) {
    const length = eir.readUInt8(i);
    if (length < 1 || i + length + 1 > eir.length) break;
    const type = eir.readUInt8(i + 1);
    const bytes = eir.subarray(i + 2, i + length + 1);
    if (type === 0x06 || type === 0x07) {
      for (let j = 0; j + 16 <= bytes.length; j += 16) {
        const uuid = Buffer.from(bytes.subarray(j, j + 16)).reverse().toString('hex');
        (ad.serviceUuids as string[]).push(uuid);
      }
    } else if (type === 0x08 || type === 0x09) {
      ad.localName = bytes.toString('utf8');
    } else if (type === 0xff) {
      ad.manufacturerData = Buffer.from(bytes);
    }
    i += length + 1;
  }
  return ad;
}

/** noble's address-derived peripheral id. */
function idOf(address: string): string {
  return address.split(':').join('').toLowerCase();
}

/**
 * The phone's noble bindings. Implements the methods noble's Noble calls and emits the events it
 * listens to (lib/noble.js constructor), with noble HCI's argument order.
 */
export class FakeNobleBindings extends EventEmitter {
  readonly #radio: FakeRadio;
  readonly #mtu: number;
  readonly #state: string;
  #scanning = false;
  #scanFilter: string[] = [];
  #scanTimer: unknown;
  #pendingConnect: { vehicle: FakeBleno; timer: unknown } | null = null;
  /** Every method call, for assertions. */
  readonly calls: string[] = [];

  constructor(radio: FakeRadio, mtu: number, state: string) {
    super();
    this.#radio = radio;
    this.#mtu = mtu;
    this.#state = state;
  }

  init(): void {
    this.calls.push('init');
    this.#radio.clock.setTimeout(() => {
      this.emit('addressChange', '00:11:22:33:44:55');
      this.emit('stateChange', this.#state);
    }, 0);
  }

  setScanParameters(): void {
    this.emit('scanParametersSet');
  }

  startScanning(serviceUuids: string[] = [], _allowDuplicates = false): void {
    this.calls.push('startScanning');
    this.#scanFilter = [...serviceUuids];
    this.#scanning = true;
    this.#radio.clock.setTimeout(() => this.emit('scanStart', false), 0);
    this.#armScan();
  }

  stopScanning(): void {
    this.calls.push('stopScanning');
    this.#scanning = false;
    if (this.#scanTimer !== undefined) this.#radio.clock.clearTimeout(this.#scanTimer);
    this.#scanTimer = undefined;
    this.emit('scanStop');
  }

  /** One advertising event of every advertising vehicle per interval, as HCI reports them. */
  #armScan(): void {
    this.#scanTimer = this.#radio.clock.setTimeout(() => {
      this.#scanTimer = undefined;
      if (!this.#scanning) return;
      for (const v of this.#radio.vehicles) {
        if (!v.advertising || v.advertisement === null || this.#radio.connection?.vehicle === v) continue;
        const ad = parseEir(v.advertisement);
        const uuids = ad.serviceUuids as string[];
        if (this.#scanFilter.length > 0 && !uuids.some((u) => this.#scanFilter.includes(u))) continue;
        this.emit('discover', idOf(v.address), v.address, 'random', true, ad, v.rssi, true);
      }
      this.#armScan();
    }, this.#radio.advertisingIntervalMs);
  }

  connect(peripheralUuid: string): void {
    this.calls.push('connect');
    const vehicle = this.#radio.vehicles.find((v) => idOf(v.address) === peripheralUuid);
    if (vehicle === undefined) throw new Error(`unknown peripheral ${peripheralUuid}`);
    if (this.#radio.ignoreConnectRequests) return;
    const timer = this.#radio.clock.setTimeout(() => {
      this.#pendingConnect = null;
      const c = this.#radio.open(vehicle);
      vehicle.accept(c);
      this.emit('connect', peripheralUuid, null);
      // noble HCI: exchangeMtu() right after the connection (lib/hci-socket/bindings.js onLeConnComplete).
      c.up(() => {
        const mtu = vehicle.exchangeMtu(c, this.#mtu);
        c.down(() => this.emit('onMtu', peripheralUuid, mtu));
      });
    }, this.#radio.connectionIntervalMs);
    this.#pendingConnect = { vehicle, timer };
  }

  cancelConnect(): void {
    this.calls.push('cancelConnect');
    if (this.#pendingConnect !== null) this.#radio.clock.clearTimeout(this.#pendingConnect.timer);
    this.#pendingConnect = null;
  }

  disconnect(peripheralUuid: string): void {
    this.calls.push('disconnect');
    const c = this.#live(peripheralUuid);
    if (c !== null) this.#radio.terminate(c, 'phone');
  }

  updateRssi(peripheralUuid: string): void {
    this.#radio.clock.setTimeout(() => this.emit('rssiUpdate', peripheralUuid, -55), 0);
  }

  discoverServices(peripheralUuid: string, uuids: string[] = []): void {
    this.calls.push('discoverServices');
    const c = this.#live(peripheralUuid);
    if (c === null) return;
    c.up(() => {
      const found = c.vehicle.services.map((s) => s.uuid).filter((u) => uuids.length === 0 || uuids.includes(u));
      c.down(() => this.emit('servicesDiscover', peripheralUuid, found));
    });
  }

  discoverCharacteristics(peripheralUuid: string, serviceUuid: string, uuids: string[] = []): void {
    this.calls.push('discoverCharacteristics');
    const c = this.#live(peripheralUuid);
    if (c === null) return;
    c.up(() => {
      const service = c.vehicle.services.find((s) => s.uuid === serviceUuid);
      const found = (service?.characteristics ?? [])
        .filter((ch) => uuids.length === 0 || uuids.includes(ch.uuid))
        .map((ch) => ({ uuid: ch.uuid, properties: [...ch.properties] }));
      c.down(() => {
        for (const ch of found) c.discovered.add(ch.uuid);
        this.emit('characteristicsDiscover', peripheralUuid, serviceUuid, found);
      });
    });
  }

  read(peripheralUuid: string, serviceUuid: string, characteristicUuid: string): void {
    this.calls.push('read');
    const c = this.#live(peripheralUuid);
    if (c === null) return;
    c.up(() =>
      c.vehicle.read(c, characteristicUuid, (ok, data) => {
        // noble HCI emits nothing for an ATT error response.
        c.down(() => ok && this.emit('read', peripheralUuid, serviceUuid, characteristicUuid, data, false));
      }),
    );
  }

  write(peripheralUuid: string, serviceUuid: string, characteristicUuid: string, data: Buffer, withoutResponse: boolean): void {
    this.calls.push(withoutResponse ? 'writeCmd' : 'writeReq');
    const c = this.#live(peripheralUuid);
    if (c === null) return;
    // noble HCI's writeRequest copies the value with data.readUInt8(i): only a Buffer works.
    const value = Buffer.alloc(data.length);
    for (let i = 0; i < data.length; i++) value[i] = data.readUInt8(i);
    const verdict = this.#radio.writeAdversary?.({ characteristic: characteristicUuid, data: Uint8Array.from(value), withoutResponse, index: c.writes++ }) ?? 'deliver';
    const written = (): void => {
      this.emit('write', peripheralUuid, serviceUuid, characteristicUuid);
    };
    if (withoutResponse) {
      // noble HCI reports a write command once the ACL packet is handed to the controller.
      this.#radio.clock.setTimeout(() => !c.dead && written(), 0);
      c.up(() => verdict === 'deliver' && c.vehicle.write(c, characteristicUuid, value, true, () => {}));
      return;
    }
    c.up(() => {
      if (verdict === 'no-response') return;
      if (verdict === 'att-error') return c.down(() => {});
      c.vehicle.write(c, characteristicUuid, value, false, (ok) => c.down(() => ok && written()));
    });
  }

  notify(peripheralUuid: string, serviceUuid: string, characteristicUuid: string, on: boolean): void {
    this.calls.push(on ? 'subscribe' : 'unsubscribe');
    const c = this.#live(peripheralUuid);
    if (c === null) return;
    c.up(() => {
      c.vehicle.setSubscription(c, characteristicUuid, on);
      c.down(() => this.emit('notify', peripheralUuid, serviceUuid, characteristicUuid, on));
    });
  }

  /** @internal A notification reached the phone. */
  deliverNotification(c: Connection, characteristicUuid: string, data: Buffer): void {
    if (!c.discovered.has(characteristicUuid)) return;
    const service = c.vehicle.services.find((s) => s.characteristics.some((ch) => ch.uuid === characteristicUuid));
    if (service === undefined) return;
    this.emit('read', idOf(c.vehicle.address), service.uuid, characteristicUuid, data, true);
  }

  /** @internal The connection ended. */
  connectionEnded(c: Connection, reason: number): void {
    this.emit('disconnect', idOf(c.vehicle.address), reason);
  }

  #live(peripheralUuid: string): Connection | null {
    const c = this.#radio.connection;
    return c !== null && !c.dead && idOf(c.vehicle.address) === peripheralUuid ? c : null;
  }
}

/**
 * A bleno-shaped vehicle radio: the surface the adapter uses (state, setServices, advertising,
 * disconnect, updateRssi, the events) plus a GATT server that drives bleno's real Characteristic
 * objects the way bleno's lib/hci-socket/gatt.js does.
 */
export class FakeBleno extends EventEmitter {
  readonly PrimaryService = BlenoPrimaryService;
  readonly Characteristic = BlenoCharacteristic;
  state = 'unknown';
  services: BlenoService[] = [];
  advertising = false;
  advertisement: Buffer | null = null;
  /** Every advertisement set, in order. */
  readonly advertisements: Buffer[] = [];
  #initialized = false;
  #connection: Connection | null = null;

  constructor(
    readonly radio: FakeRadio,
    readonly address: string,
    readonly maxMtu: number,
    readonly rssi: number,
  ) {
    super();
    // bleno starts its HCI stack when the first 'stateChange' listener is added.
    this.on('newListener', (event: string) => {
      if (event !== 'stateChange' || this.#initialized) return;
      this.#initialized = true;
      this.radio.clock.setTimeout(() => this.powerState('poweredOn'), 0);
    });
  }

  /** Changes the adapter state (tests switch it off and on). */
  powerState(state: string): void {
    this.state = state;
    this.emit('stateChange', state);
  }

  setServices(services: BlenoService[]): void {
    this.services = services;
    this.emit('servicesSet');
  }

  startAdvertisingWithEIRData(advertisementData: Buffer, scanData?: Buffer): void {
    if (!Buffer.isBuffer(advertisementData) || (scanData !== undefined && !Buffer.isBuffer(scanData))) throw new TypeError('bleno wants Buffers');
    if (this.state !== 'poweredOn') throw new Error(`Could not advertising scanning, state is ${this.state} (not poweredOn)`);
    if (advertisementData.length > 31) {
      this.radio.clock.setTimeout(() => this.emit('advertisingStartError', new Error('Advertisement data is over maximum limit of 31 bytes')), 0);
      return;
    }
    this.advertisement = Buffer.from(advertisementData);
    this.advertisements.push(this.advertisement);
    this.advertising = true;
    this.radio.clock.setTimeout(() => this.emit('advertisingStart', null), 0);
  }

  stopAdvertising(): void {
    this.advertising = false;
    this.emit('advertisingStop');
  }

  disconnect(): void {
    if (this.#connection !== null) this.radio.terminate(this.#connection, 'vehicle');
  }

  updateRssi(): void {
    this.radio.clock.setTimeout(() => this.emit('rssiUpdate', this.rssi), 0);
  }

  get connected(): boolean {
    return this.#connection !== null;
  }

  // ----- the GATT server (bleno lib/hci-socket/gatt.js behaviour) -----

  /** @internal */
  accept(c: Connection): void {
    this.#connection = c;
    this.emit('accept', CENTRAL_ADDRESS);
  }

  /** @internal MTU request: min(client, maxMtu), at least 23. */
  exchangeMtu(c: Connection, clientMtu: number): number {
    const mtu = Math.max(23, Math.min(clientMtu, this.maxMtu));
    c.mtu = mtu;
    this.emit('mtuChange', mtu);
    return mtu;
  }

  #find(uuid: string): BlenoChar | undefined {
    for (const s of this.services) for (const ch of s.characteristics) if (ch.uuid === uuid) return ch;
    return undefined;
  }

  /** @internal Read request: 'readRequest' with bleno's callback, response truncated to MTU − 1. */
  read(c: Connection, uuid: string, done: (ok: boolean, data?: Buffer) => void): void {
    const ch = this.#find(uuid);
    if (ch === undefined || !ch.properties.includes('read')) return done(false);
    ch.emit('readRequest', 0, (result: number, data?: Uint8Array) => {
      if (result !== BlenoCharacteristic.RESULT_SUCCESS || data === undefined) return done(false);
      done(true, Buffer.from(data).subarray(0, c.mtu - 1));
    });
  }

  /** @internal Write request or command: 'writeRequest' with bleno's callback. */
  write(c: Connection, uuid: string, data: Buffer, withoutResponse: boolean, done: (ok: boolean) => void): void {
    const ch = this.#find(uuid);
    const property = withoutResponse ? 'writeWithoutResponse' : 'write';
    if (ch === undefined || !ch.properties.includes(property) || data.length > c.mtu - 3) return done(false);
    ch.emit('writeRequest', data, 0, withoutResponse, (result: number) => done(result === BlenoCharacteristic.RESULT_SUCCESS));
  }

  /** @internal CCCD write: 'subscribe' with (MTU − 3, updateValueCallback), or 'unsubscribe'. */
  setSubscription(c: Connection, uuid: string, on: boolean): void {
    const ch = this.#find(uuid);
    if (ch === undefined || !ch.properties.includes('notify')) return;
    if (!on) {
      if (c.subscribed.delete(uuid)) ch.emit('unsubscribe');
      return;
    }
    c.subscribed.add(uuid);
    const updateValueCallback = (data: Buffer): void => {
      if (c.dead) return;
      const value = Buffer.from(data).subarray(0, c.mtu - 3);
      const index = this.radio.notifications++;
      c.down(() => this.radio.phone.deliverNotification(c, uuid, value));
      ch.emit('notify');
      this.radio.onNotification?.(Uint8Array.from(value), index);
    };
    ch.emit('subscribe', c.mtu - 3, updateValueCallback);
  }

  /** @internal The connection ended: unsubscribe, then 'disconnect', then advertising resumes. */
  connectionEnded(c: Connection): void {
    if (this.#connection !== c) return;
    this.#connection = null;
    for (const uuid of [...c.subscribed]) {
      c.subscribed.delete(uuid);
      this.#find(uuid)?.emit('unsubscribe');
    }
    this.emit('disconnect', CENTRAL_ADDRESS);
  }
}
