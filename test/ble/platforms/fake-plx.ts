/**
 * A model of react-native-ble-plx 3.5's BleManager (its documented behaviour, src/index.d.ts and
 * src/BleManager.js), over the fake radio. Only the calls the adapter makes, with ble-plx's
 * quirks the adapter must handle:
 * - every value is a base64 string (and a malformed one is refused);
 * - errors are BleError objects with ble-plx's numeric `errorCode` (201 DeviceDisconnected, 2
 *   OperationCancelled, 3 OperationTimedOut, 102 BluetoothPoweredOff, 401 CharacteristicWriteFailed…);
 * - `onStateChange(listener, true)` reports the current state first;
 * - a monitor has no "enabled" confirmation; `Subscription.remove()` cancels its transaction and
 *   the listener then receives OperationCancelled; a disconnect gives monitors DeviceDisconnected;
 * - `onDeviceDisconnected` reports error null after `cancelDeviceConnection`, a BleError otherwise;
 * - `requestMTUForDevice` negotiates on Android; on iOS it changes nothing and returns the device;
 * - pending operations of a connection reject with DeviceDisconnected when it drops.
 */

import { AirDisconnected, dashed, compact, type AirCentral, type AirCharacteristic } from './central.js';

/** ble-plx's BleErrorCode values used by the model. */
export const PLX = {
  OperationCancelled: 2,
  OperationTimedOut: 3,
  BluetoothPoweredOff: 102,
  DeviceConnectionFailed: 200,
  DeviceDisconnected: 201,
  DeviceAlreadyConnected: 203,
  DeviceNotConnected: 205,
  ServicesNotDiscovered: 303,
  CharacteristicWriteFailed: 401,
  CharacteristicNotFound: 403,
} as const;

/** ble-plx's BleError shape. */
export class FakeBleError extends Error {
  readonly attErrorCode = null;
  readonly iosErrorCode = null;
  constructor(
    readonly errorCode: number,
    readonly reason: string | null = null,
    readonly androidErrorCode: number | null = null,
  ) {
    super(`BleError ${errorCode}${reason === null ? '' : `: ${reason}`}`);
  }
}

/** Strict standard base64 check, as the native side decodes it. */
function decode64(value: string): Uint8Array {
  if (typeof value !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value)) {
    throw new FakeBleError(PLX.CharacteristicWriteFailed, 'value is not valid base64');
  }
  return Uint8Array.from(Buffer.from(value, 'base64'));
}

const encode64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** A ble-plx Device (the fields the adapter reads). */
export interface FakeDevice {
  id: string;
  name: string | null;
  rssi: number | null;
  mtu: number;
  manufacturerData: string | null;
  serviceUUIDs: string[] | null;
  isConnectable: boolean | null;
}

type Listener<A extends unknown[]> = (...args: A) => void;

/** The model. */
export class FakeBleManager {
  readonly calls: string[] = [];
  state_: string;
  readonly #air: AirCentral;
  readonly #os: 'android' | 'ios';
  readonly #stateListeners = new Set<Listener<[string]>>();
  readonly #disconnectListeners = new Set<{ id: string; l: Listener<[FakeBleError | null, FakeDevice | null]> }>();
  readonly #monitors = new Map<string, { id: string; cancel(): void; end(error: FakeBleError): void }>();
  readonly #discovered = new Map<string, AirCharacteristic[]>();
  readonly #airOffs = new Map<string, () => void>();
  readonly #cancelling = new Set<string>();
  #stopScan: (() => void) | null = null;

  constructor(air: AirCentral, options: { os: 'android' | 'ios'; state?: string }) {
    this.#air = air;
    this.#os = options.os;
    this.state_ = options.state ?? 'PoweredOn';
  }

  /** Live subscriptions of every kind (state, disconnect, monitors, scan), for leak checks. */
  get liveSubscriptions(): number {
    return this.#stateListeners.size + this.#disconnectListeners.size + this.#monitors.size + (this.#stopScan === null ? 0 : 1);
  }

  /** Changes the adapter state (tests switch Bluetooth off). */
  setState(state: string): void {
    this.state_ = state;
    for (const l of [...this.#stateListeners]) l(state);
  }

  async state(): Promise<string> {
    return this.state_;
  }

  onStateChange(listener: Listener<[string]>, emitCurrentState = false): { remove(): void } {
    this.#stateListeners.add(listener);
    if (emitCurrentState) listener(this.state_);
    return { remove: () => void this.#stateListeners.delete(listener) };
  }

  async startDeviceScan(uuids: string[] | null, options: { allowDuplicates?: boolean } | null, listener: Listener<[FakeBleError | null, FakeDevice | null]>): Promise<void> {
    this.calls.push('startDeviceScan');
    if (this.state_ !== 'PoweredOn') return listener(new FakeBleError(PLX.BluetoothPoweredOff), null);
    this.#stopScan?.();
    const seen = new Set<string>();
    this.#stopScan = this.#air.scan(uuids ?? [], (r) => {
      if (options?.allowDuplicates !== true && seen.has(r.id)) return;
      seen.add(r.id);
      listener(null, {
        id: r.id,
        name: null,
        rssi: r.rssi,
        mtu: 23,
        manufacturerData: r.manufacturerData === null ? null : encode64(r.manufacturerData),
        serviceUUIDs: r.serviceUuids.map(dashed),
        isConnectable: r.connectable,
      });
    });
  }

  async stopDeviceScan(): Promise<void> {
    this.calls.push('stopDeviceScan');
    this.#stopScan?.();
    this.#stopScan = null;
  }

  #device(id: string): FakeDevice {
    return { id, name: null, rssi: null, mtu: this.#air.mtu.get(id) ?? 23, manufacturerData: null, serviceUUIDs: null, isConnectable: null };
  }

  /** Maps the air's failure to the BleError ble-plx would give. */
  #fail(err: unknown, code: number = PLX.DeviceDisconnected): never {
    if (err instanceof FakeBleError) throw err;
    if (err instanceof AirDisconnected) throw new FakeBleError(this.#cancelling.size > 0 ? PLX.OperationCancelled : code, err.message);
    throw err;
  }

  async connectToDevice(id: string, options: { timeout?: number } = {}): Promise<FakeDevice> {
    this.calls.push('connectToDevice');
    if (this.#air.isConnected(id)) throw new FakeBleError(PLX.DeviceAlreadyConnected);
    const clock = this.#air.radio.clock;
    let timer: unknown;
    if (options.timeout !== undefined) timer = clock.setTimeout(() => this.#air.disconnect(id), options.timeout);
    try {
      await this.#air.connect(id);
    } catch (err) {
      if (this.#cancelling.delete(id)) throw new FakeBleError(PLX.OperationCancelled, 'connection cancelled');
      throw new FakeBleError(options.timeout !== undefined ? PLX.OperationTimedOut : PLX.DeviceConnectionFailed, String(err));
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
    }
    // ble-plx keeps one native disconnect watcher per connection and fans it out.
    this.#airOffs.set(id, this.#air.onDisconnected(id, (reason) => this.#ended(id, reason)));
    return this.#device(id);
  }

  async discoverAllServicesAndCharacteristicsForDevice(id: string): Promise<FakeDevice> {
    this.calls.push('discoverAll');
    try {
      this.#discovered.set(id, await this.#air.discover(id));
    } catch (err) {
      this.#fail(err);
    }
    return this.#device(id);
  }

  async characteristicsForDevice(id: string, serviceUuid: string) {
    const all = this.#discovered.get(id);
    if (all === undefined) throw new FakeBleError(PLX.ServicesNotDiscovered);
    return all
      .filter((c) => c.serviceUuid === compact(serviceUuid))
      .map((c) => ({
        uuid: dashed(c.uuid),
        serviceUUID: dashed(c.serviceUuid),
        deviceID: id,
        isReadable: c.properties.includes('read'),
        isWritableWithResponse: c.properties.includes('write'),
        isWritableWithoutResponse: c.properties.includes('writeWithoutResponse'),
        isNotifiable: c.properties.includes('notify'),
        isIndicatable: c.properties.includes('indicate'),
        value: null,
      }));
  }

  async requestMTUForDevice(id: string, mtu: number): Promise<FakeDevice> {
    this.calls.push(`requestMTU ${mtu}`);
    if (!this.#air.isConnected(id)) throw new FakeBleError(PLX.DeviceNotConnected);
    // The fake radio ran the exchange at connect with what the OS asks (Android apps ask 517).
    return this.#device(id);
  }

  #characteristic(id: string, serviceUuid: string, uuid: string): AirCharacteristic {
    const c = this.#discovered.get(id)?.find((x) => x.serviceUuid === compact(serviceUuid) && x.uuid === compact(uuid));
    if (c === undefined) throw new FakeBleError(this.#discovered.has(id) ? PLX.CharacteristicNotFound : PLX.ServicesNotDiscovered);
    return c;
  }

  async readCharacteristicForDevice(id: string, serviceUuid: string, uuid: string) {
    this.calls.push('read');
    this.#characteristic(id, serviceUuid, uuid);
    try {
      const value = await this.#air.read(id, serviceUuid, uuid);
      return { uuid: dashed(uuid), serviceUUID: dashed(serviceUuid), deviceID: id, value: encode64(value) };
    } catch (err) {
      return this.#fail(err);
    }
  }

  writeCharacteristicWithResponseForDevice(id: string, serviceUuid: string, uuid: string, value: string) {
    return this.#write(id, serviceUuid, uuid, value, false);
  }

  writeCharacteristicWithoutResponseForDevice(id: string, serviceUuid: string, uuid: string, value: string) {
    return this.#write(id, serviceUuid, uuid, value, true);
  }

  async #write(id: string, serviceUuid: string, uuid: string, value: string, withoutResponse: boolean) {
    this.calls.push(withoutResponse ? 'writeWithoutResponse' : 'writeWithResponse');
    const c = this.#characteristic(id, serviceUuid, uuid);
    if (!c.properties.includes(withoutResponse ? 'writeWithoutResponse' : 'write')) throw new FakeBleError(PLX.CharacteristicWriteFailed, 'property missing');
    const bytes = decode64(value);
    const mtu = this.#air.mtu.get(id);
    if (mtu === undefined) throw new FakeBleError(PLX.DeviceNotConnected);
    if (bytes.length > mtu - 3) throw new FakeBleError(PLX.CharacteristicWriteFailed, `value longer than MTU − 3 (${mtu - 3})`);
    try {
      await this.#air.write(id, serviceUuid, uuid, bytes, withoutResponse);
    } catch (err) {
      this.#fail(err);
    }
    return { uuid: dashed(uuid), serviceUUID: dashed(serviceUuid), deviceID: id, value };
  }

  monitorCharacteristicForDevice(id: string, serviceUuid: string, uuid: string, listener: Listener<[FakeBleError | null, unknown]>, transactionId?: string): { remove(): void } {
    this.calls.push('monitor');
    const tx = transactionId ?? `auto-${this.#monitors.size}-${this.calls.length}`;
    let live = true;
    const offValue = this.#air.onNotification(id, uuid, (data) => {
      if (live) listener(null, { uuid: dashed(uuid), serviceUUID: dashed(serviceUuid), deviceID: id, value: encode64(data) });
    });
    const end = (error: FakeBleError): void => {
      if (!live) return;
      live = false;
      offValue();
      this.#monitors.delete(tx);
      listener(error, null);
    };
    this.#monitors.set(tx, {
      id,
      end,
      cancel: () => {
        // Native side: the monitor's promise rejects with OperationCancelled, then the CCCD is cleared.
        queueMicrotask(() => end(new FakeBleError(PLX.OperationCancelled)));
        if (this.#air.isConnected(id)) this.#air.setNotify(id, serviceUuid, uuid, false).catch(() => undefined);
      },
    });
    this.#air.setNotify(id, serviceUuid, uuid, true).catch(() => end(new FakeBleError(PLX.DeviceDisconnected)));
    return { remove: () => void this.cancelTransaction(tx) };
  }

  async cancelTransaction(tx: string): Promise<void> {
    this.#monitors.get(tx)?.cancel();
  }

  onDeviceDisconnected(id: string, listener: Listener<[FakeBleError | null, FakeDevice | null]>): { remove(): void } {
    const entry = { id, l: listener };
    this.#disconnectListeners.add(entry);
    return { remove: () => void this.#disconnectListeners.delete(entry) };
  }

  async cancelDeviceConnection(id: string): Promise<FakeDevice> {
    this.calls.push('cancelDeviceConnection');
    if (!this.#air.isConnected(id)) {
      this.#cancelling.add(id);
      this.#air.disconnect(id);
      throw new FakeBleError(PLX.DeviceNotConnected);
    }
    this.#cancelling.add(id);
    const done = new Promise<void>((resolve) => {
      const off = this.#air.onDisconnected(id, () => {
        off();
        resolve();
      });
    });
    this.#air.disconnect(id);
    await done;
    return this.#device(id);
  }

  /** The connection ended: monitors and listeners learn it the way ble-plx reports it. */
  #ended(id: string, reason: number): void {
    this.#airOffs.get(id)?.();
    this.#airOffs.delete(id);
    this.#discovered.delete(id);
    const byApp = this.#cancelling.delete(id);
    for (const m of [...this.#monitors.values()]) if (m.id === id) m.end(new FakeBleError(PLX.DeviceDisconnected));
    const error = byApp ? null : new FakeBleError(PLX.DeviceDisconnected, `HCI reason 0x${reason.toString(16)}`, reason);
    for (const e of [...this.#disconnectListeners]) if (e.id === id) e.l(error, this.#device(id));
  }
}
