/**
 * A model of Web Bluetooth (`navigator.bluetooth`, W3C Web Bluetooth CG spec, as Chrome ships
 * it) over the fake radio. What the adapter must cope with:
 * - `requestDevice` needs transient user activation (SecurityError otherwise), needs `filters`
 *   (TypeError otherwise), and rejects NotFoundError when the user closes the chooser;
 * - values are DataViews; `writeValue*` and reads carry at most 512 bytes (InvalidModificationError);
 * - a value that arrives is put on `characteristic.value` and announced by a
 *   `characteristicvaluechanged` event; the next value may reuse nothing (a new DataView each time);
 * - the connection's end is one `gattserverdisconnected` event on the device, with no reason;
 *   operations on a disconnected server reject NetworkError;
 * - there is no MTU anywhere in the API (the OS negotiates it; Chrome on Android asks 517).
 */

import { AirDisconnected, compact, dashed, type AirCentral, type AirCharacteristic } from './central.js';

/** Largest value a Web Bluetooth operation carries. */
export const MAX_VALUE_BYTES = 512;

function domError(name: string, message: string): DOMException {
  return new DOMException(message, name);
}

/** `BluetoothRemoteGATTCharacteristic`. */
export class FakeWebCharacteristic extends EventTarget {
  value: DataView | null = null;
  readonly properties: { read: boolean; write: boolean; writeWithoutResponse: boolean; notify: boolean; indicate: boolean };
  readonly uuid: string;
  #notifying = false;
  #offValue: (() => void) | null = null;

  constructor(
    readonly server: FakeGattServer,
    readonly air: AirCharacteristic,
  ) {
    super();
    this.uuid = dashed(air.uuid);
    const p = air.properties;
    this.properties = { read: p.includes('read'), write: p.includes('write'), writeWithoutResponse: p.includes('writeWithoutResponse'), notify: p.includes('notify'), indicate: p.includes('indicate') };
  }

  get notifying(): boolean {
    return this.#notifying;
  }

  async readValue(): Promise<DataView> {
    this.server.calls.push('readValue');
    if (!this.properties.read) throw domError('NotSupportedError', 'GATT operation not permitted.');
    const bytes = await this.server.op(() => this.server.air.read(this.server.device.id, this.air.serviceUuid, this.air.uuid));
    if (bytes.length > MAX_VALUE_BYTES) throw domError('InvalidModificationError', 'Value too long');
    this.value = new DataView(Uint8Array.from(bytes).buffer);
    return this.value;
  }

  writeValueWithResponse(value: BufferSource): Promise<void> {
    return this.#write(value, false);
  }

  writeValueWithoutResponse(value: BufferSource): Promise<void> {
    return this.#write(value, true);
  }

  async #write(value: BufferSource, withoutResponse: boolean): Promise<void> {
    this.server.calls.push(withoutResponse ? 'writeValueWithoutResponse' : 'writeValueWithResponse');
    if (!ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer)) throw new TypeError('value must be a BufferSource');
    const bytes = ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice() : new Uint8Array(value).slice();
    if (bytes.length > MAX_VALUE_BYTES) throw domError('InvalidModificationError', "Value can't exceed 512 bytes.");
    if (!(withoutResponse ? this.properties.writeWithoutResponse : this.properties.write)) throw domError('NotSupportedError', 'GATT operation not permitted.');
    this.server.writtenSizes.push(bytes.length);
    await this.server.op(() => this.server.air.write(this.server.device.id, this.air.serviceUuid, this.air.uuid, bytes, withoutResponse));
  }

  async startNotifications(): Promise<FakeWebCharacteristic> {
    this.server.calls.push('startNotifications');
    if (!this.properties.notify) throw domError('NotSupportedError', 'GATT operation not permitted.');
    if (this.#offValue === null) {
      this.#offValue = this.server.air.onNotification(this.server.device.id, this.air.uuid, (data) => {
        if (data.length > MAX_VALUE_BYTES) return;
        this.server.notifiedSizes.push(data.length);
        this.value = new DataView(Uint8Array.from(data).buffer);
        this.dispatchEvent(new Event('characteristicvaluechanged'));
      });
    }
    await this.server.op(() => this.server.air.setNotify(this.server.device.id, this.air.serviceUuid, this.air.uuid, true));
    this.#notifying = true;
    return this;
  }

  async stopNotifications(): Promise<FakeWebCharacteristic> {
    this.server.calls.push('stopNotifications');
    this.#stop();
    await this.server.op(() => this.server.air.setNotify(this.server.device.id, this.air.serviceUuid, this.air.uuid, false));
    return this;
  }

  /** @internal Notifications end (stop, or the connection went). */
  stop(): void {
    this.#stop();
  }

  #stop(): void {
    this.#offValue?.();
    this.#offValue = null;
    this.#notifying = false;
  }
}

/** `BluetoothRemoteGATTService`. */
export class FakeWebService {
  constructor(
    readonly server: FakeGattServer,
    readonly uuid: string,
    readonly characteristics: FakeWebCharacteristic[],
  ) {}

  async getCharacteristic(uuid: string): Promise<FakeWebCharacteristic> {
    if (!this.server.connected) throw domError('NetworkError', 'GATT Server is disconnected. Cannot retrieve characteristics.');
    const c = this.characteristics.find((x) => x.air.uuid === compact(uuid));
    if (c === undefined) throw domError('NotFoundError', `No Characteristics matching UUID ${uuid} found in Service.`);
    return c;
  }
}

/** `BluetoothRemoteGATTServer`. */
export class FakeGattServer {
  connected = false;
  readonly calls: string[] = [];
  readonly writtenSizes: number[] = [];
  readonly notifiedSizes: number[] = [];
  #services: FakeWebService[] | null = null;
  #offDisconnect: (() => void) | null = null;

  constructor(
    readonly device: FakeWebDevice,
    readonly air: AirCentral,
  ) {}

  async connect(): Promise<FakeGattServer> {
    this.calls.push('connect');
    if (this.connected) return this;
    try {
      await this.air.connect(this.device.id);
    } catch {
      throw domError('NetworkError', 'Connection failed for unknown reason.');
    }
    this.connected = true;
    this.#offDisconnect = this.air.onDisconnected(this.device.id, () => this.#ended());
    return this;
  }

  disconnect(): void {
    this.calls.push('disconnect');
    if (!this.connected) {
      this.air.disconnect(this.device.id);
      return;
    }
    // Chrome: the page's disconnect() fires gattserverdisconnected at once.
    this.air.disconnect(this.device.id);
    this.#ended();
  }

  async getPrimaryService(uuid: string): Promise<FakeWebService> {
    if (!this.connected) throw domError('NetworkError', 'GATT Server is disconnected. Cannot retrieve services.');
    if (!this.device.allowedServices.includes(compact(uuid))) throw domError('SecurityError', 'Origin is not allowed to access the service. Tip: Add the service UUID to optionalServices.');
    if (this.#services === null) {
      const all = await this.op(() => this.air.discover(this.device.id));
      const byService = new Map<string, AirCharacteristic[]>();
      for (const c of all) byService.set(c.serviceUuid, [...(byService.get(c.serviceUuid) ?? []), c]);
      this.#services = [...byService].map(([s, cs]) => new FakeWebService(this, dashed(s), cs.map((c) => new FakeWebCharacteristic(this, c))));
    }
    const s = this.#services.find((x) => compact(x.uuid) === compact(uuid));
    if (s === undefined) throw domError('NotFoundError', `No Services matching UUID ${uuid} found in Device.`);
    return s;
  }

  /** Runs an air operation, as NetworkError once the link is gone. */
  async op<T>(f: () => Promise<T>): Promise<T> {
    if (!this.connected) throw domError('NetworkError', 'GATT Server is disconnected. Cannot perform GATT operations.');
    try {
      return await f();
    } catch (err) {
      if (err instanceof AirDisconnected) throw domError('NetworkError', 'GATT Server is disconnected. Cannot perform GATT operations.');
      throw err;
    }
  }

  #ended(): void {
    if (!this.connected) return;
    this.connected = false;
    this.#offDisconnect?.();
    this.#offDisconnect = null;
    for (const s of this.#services ?? []) for (const c of s.characteristics) c.stop();
    this.#services = null;
    this.device.dispatchEvent(new Event('gattserverdisconnected'));
  }
}

/** `BluetoothDevice`. */
export class FakeWebDevice extends EventTarget {
  readonly gatt: FakeGattServer;
  readonly name = null;
  constructor(
    readonly id: string,
    air: AirCentral,
    readonly allowedServices: string[],
  ) {
    super();
    this.gatt = new FakeGattServer(this, air);
  }
}

/** `navigator.bluetooth`. The chooser picks the strongest matching device heard within `chooserMs`. */
export class FakeBluetooth {
  /** Transient user activation: set by {@link withUserGesture}. */
  userActivation = false;
  /** What the user does in the chooser. */
  chooser: 'pick' | 'cancel' = 'pick';
  readonly #air: AirCentral;
  readonly #chooserMs: number;
  readonly #devices = new Map<string, FakeWebDevice>();

  constructor(air: AirCentral, options: { chooserMs?: number } = {}) {
    this.#air = air;
    this.#chooserMs = options.chooserMs ?? 1_000;
  }

  /** Runs `f` as a click handler would: activation holds for the synchronous part only. */
  withUserGesture<T>(f: () => T): T {
    this.userActivation = true;
    try {
      return f();
    } finally {
      this.userActivation = false;
    }
  }

  async getAvailability(): Promise<boolean> {
    return true;
  }

  requestDevice(options: { filters?: Array<{ services?: string[] }>; optionalServices?: string[]; acceptAllDevices?: boolean }): Promise<FakeWebDevice> {
    if (!this.userActivation) return Promise.reject(domError('SecurityError', 'Must be handling a user gesture to show a permission request.'));
    if (!Array.isArray(options?.filters) || options.filters.length === 0) return Promise.reject(new TypeError("Failed to execute 'requestDevice' on 'Bluetooth': Either 'filters' should be present or 'acceptAllDevices' should be true, but not both."));
    const services = options.filters.flatMap((f) => f.services ?? []).map(compact);
    const allowed = [...services, ...(options.optionalServices ?? []).map(compact)];
    return new Promise((resolve, reject) => {
      const heard = new Map<string, number>();
      const stop = this.#air.scan(services, (r) => {
        if (r.serviceUuids.some((u) => services.includes(u))) heard.set(r.id, Math.max(r.rssi, heard.get(r.id) ?? -999));
      });
      this.#air.radio.clock.setTimeout(() => {
        stop();
        const best = [...heard].sort((x, y) => y[1] - x[1])[0];
        if (this.chooser === 'cancel' || best === undefined) return reject(domError('NotFoundError', 'User cancelled the requestDevice() chooser.'));
        let device = this.#devices.get(best[0]);
        if (device === undefined) this.#devices.set(best[0], (device = new FakeWebDevice(best[0], this.#air, allowed)));
        resolve(device);
      }, this.#chooserMs);
    });
  }
}
