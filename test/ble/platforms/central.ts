/**
 * The air below the platform models: promise-shaped GATT central operations over the fake
 * radio's phone side (test/ble/fake-radio.ts), so the models of ble-plx's BleManager and of
 * `navigator.bluetooth` drive the REAL bleno-side peripheral code (startBlenoVehicle on bleno's
 * GATT classes) through connection events, MTU exchange, ATT reads, writes and notifications.
 *
 * UUIDs here are in the radio's compact form; the models convert from their platform's form.
 */

import { EventEmitter } from 'node:events';
import { FakeRadio, type FakeNobleBindings } from '../fake-radio.js';

/** One advertisement as the radio reports it. */
export interface AirReport {
  id: string;
  serviceUuids: string[];
  manufacturerData: Uint8Array | null;
  rssi: number;
  connectable: boolean;
}

/** A characteristic found by discovery. */
export interface AirCharacteristic {
  serviceUuid: string;
  uuid: string;
  properties: string[];
}

/** Thrown by the air when the connection is gone (the models turn it into their own error). */
export class AirDisconnected extends Error {}

/** Lower case, no dashes. */
export function compact(uuid: string): string {
  return uuid.replace(/-/g, '').toLowerCase();
}

/** Back to the dashed 128-bit form the platforms report. */
export function dashed(uuid: string): string {
  const u = compact(uuid);
  return `${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20)}`;
}

/** Pending request: resolved by one bindings event, rejected on disconnect. */
interface Pending {
  id: string;
  reject(error: Error): void;
}

/**
 * A central on the fake radio. Only one operation of each kind per characteristic is in flight
 * at a time (as ATT allows one request at a time); the models serialise theirs.
 */
export class AirCentral {
  readonly bindings: FakeNobleBindings;
  readonly radio: FakeRadio;
  /** Negotiated MTU of each connected peripheral. */
  readonly mtu = new Map<string, number>();
  readonly #events = new EventEmitter();
  readonly #pending = new Set<Pending>();
  readonly #connected = new Set<string>();

  constructor(radio: FakeRadio, bindings: FakeNobleBindings) {
    this.radio = radio;
    this.bindings = bindings;
    bindings.on('discover', this.#onDiscover);
    bindings.on('read', this.#onRead);
    bindings.on('disconnect', this.#onDisconnect);
  }

  /** Removes the central's listeners from the bindings. */
  detach(): void {
    this.bindings.removeListener('discover', this.#onDiscover);
    this.bindings.removeListener('read', this.#onRead);
    this.bindings.removeListener('disconnect', this.#onDisconnect);
  }

  /** Listeners the central still holds (scan, notifications, disconnects), for leak checks. */
  get listenerCount(): number {
    return this.#events.eventNames().reduce((n, e) => n + this.#events.listenerCount(e), 0);
  }

  isConnected(id: string): boolean {
    return this.#connected.has(id);
  }

  /** Starts scanning; `onReport` sees every advertising event. Returns the stop function. */
  scan(serviceUuids: string[], onReport: (r: AirReport) => void): () => void {
    this.#events.on('report', onReport);
    this.bindings.startScanning(serviceUuids.map(compact), true);
    return () => {
      this.#events.removeListener('report', onReport);
      this.bindings.stopScanning();
    };
  }

  /** Connects; resolves after the MTU exchange (Android and iOS both do it right away). */
  connect(id: string): Promise<number> {
    return this.#request<number>(id, 'connect', (resolve) => {
      const onMtu = (pid: string, mtu: number): void => {
        if (pid !== id) return;
        this.bindings.removeListener('onMtu', onMtu);
        this.#connected.add(id);
        this.mtu.set(id, mtu);
        resolve(mtu);
      };
      this.bindings.on('onMtu', onMtu);
      this.bindings.connect(id);
      return () => this.bindings.removeListener('onMtu', onMtu);
    }, false);
  }

  /** Drops the connection (or a pending one); `disconnected` listeners learn it. */
  disconnect(id: string): void {
    if (!this.#connected.has(id)) {
      this.bindings.cancelConnect();
      for (const p of [...this.#pending]) if (p.id === id) p.reject(new AirDisconnected('connection cancelled'));
      return;
    }
    this.bindings.disconnect(id);
  }

  /** Every characteristic of the services offered (primary service discovery, then characteristics). */
  async discover(id: string): Promise<AirCharacteristic[]> {
    const services = await this.#request<string[]>(id, 'discoverServices', (resolve) =>
      this.#once('servicesDiscover', id, (found: string[]) => resolve(found), () => this.bindings.discoverServices(id, [])),
    );
    const out: AirCharacteristic[] = [];
    for (const s of services) {
      const cs = await this.#request<Array<{ uuid: string; properties: string[] }>>(id, 'discoverCharacteristics', (resolve) =>
        this.#once('characteristicsDiscover', id, (_svc: string, found: Array<{ uuid: string; properties: string[] }>) => resolve(found), () =>
          this.bindings.discoverCharacteristics(id, s, []),
        ),
      );
      for (const c of cs) out.push({ serviceUuid: s, uuid: c.uuid, properties: c.properties });
    }
    return out;
  }

  /** Reads a value. An ATT error leaves it pending until the caller's deadline (as the radio does). */
  read(id: string, serviceUuid: string, uuid: string): Promise<Uint8Array> {
    return this.#request<Uint8Array>(id, 'read', (resolve) => {
      const onValue = (pid: string, _s: string, cu: string, data: Buffer, isNotification: boolean): void => {
        if (pid !== id || cu !== compact(uuid) || isNotification) return;
        this.#events.removeListener('value', onValue);
        resolve(Uint8Array.from(data));
      };
      this.#events.on('value', onValue);
      this.bindings.read(id, compact(serviceUuid), compact(uuid));
      return () => this.#events.removeListener('value', onValue);
    });
  }

  /** Writes a value; with response, resolves on the vehicle's answer. */
  write(id: string, serviceUuid: string, uuid: string, data: Uint8Array, withoutResponse: boolean): Promise<void> {
    return this.#request<void>(id, 'write', (resolve) =>
      this.#once('write', id, () => resolve(), () => this.bindings.write(id, compact(serviceUuid), compact(uuid), Buffer.from(data), withoutResponse)),
    );
  }

  /** Writes the CCCD; resolves once the vehicle answered. */
  setNotify(id: string, serviceUuid: string, uuid: string, on: boolean): Promise<void> {
    return this.#request<void>(id, 'notify', (resolve) =>
      this.#once('notify', id, () => resolve(), () => this.bindings.notify(id, compact(serviceUuid), compact(uuid), on)),
    );
  }

  /** Sees notifications of `uuid` on `id`; returns the remover. */
  onNotification(id: string, uuid: string, listener: (data: Uint8Array) => void): () => void {
    const l = (pid: string, _s: string, cu: string, data: Buffer, isNotification: boolean): void => {
      if (pid === id && cu === compact(uuid) && isNotification) listener(Uint8Array.from(data));
    };
    this.#events.on('value', l);
    return () => this.#events.removeListener('value', l);
  }

  /** Sees the end of the connection with `id` and its HCI reason; returns the remover. */
  onDisconnected(id: string, listener: (reason: number) => void): () => void {
    const l = (pid: string, reason: number): void => {
      if (pid === id) listener(reason);
    };
    this.#events.on('disconnected', l);
    return () => this.#events.removeListener('disconnected', l);
  }

  // ----- internals -----

  #onDiscover = (id: string, _address: string, _type: string, connectable: boolean, ad: Record<string, unknown>, rssi: number): void => {
    const md = ad.manufacturerData;
    this.#events.emit('report', {
      id,
      serviceUuids: Array.isArray(ad.serviceUuids) ? (ad.serviceUuids as string[]) : [],
      manufacturerData: md instanceof Uint8Array ? Uint8Array.from(md) : null,
      rssi,
      connectable,
    } satisfies AirReport);
  };

  #onRead = (...args: unknown[]): void => {
    this.#events.emit('value', ...args);
  };

  #onDisconnect = (id: string, reason: number): void => {
    this.#connected.delete(id);
    this.mtu.delete(id);
    for (const p of [...this.#pending]) if (p.id === id) p.reject(new AirDisconnected(`disconnected (HCI 0x${reason.toString(16)})`));
    this.#events.emit('disconnected', id, reason);
  };

  /** Registers a one-shot bindings listener for `event` on `id`, then calls `start`. */
  #once(event: string, id: string, onEvent: (...args: any[]) => void, start: () => void): () => void {
    const l = (pid: string, ...rest: unknown[]): void => {
      if (pid !== id) return;
      this.bindings.removeListener(event, l);
      onEvent(...rest);
    };
    this.bindings.on(event, l);
    start();
    return () => this.bindings.removeListener(event, l);
  }

  /** One request: rejected with AirDisconnected if the link is (or goes) down; cleanup always runs. */
  #request<T>(id: string, _name: string, start: (resolve: (v: T) => void) => () => void, needsConnection = true): Promise<T> {
    if (needsConnection && !this.#connected.has(id)) return Promise.reject(new AirDisconnected('not connected'));
    return new Promise<T>((resolve, reject) => {
      let cleanup: () => void = () => {};
      const pending: Pending = {
        id,
        reject: (e) => {
          this.#pending.delete(pending);
          cleanup();
          reject(e);
        },
      };
      this.#pending.add(pending);
      cleanup = start((v) => {
        this.#pending.delete(pending);
        cleanup();
        resolve(v);
      });
    });
  }
}
