'use strict';
/**
 * A stand-in for @abandonware/bluetooth-hci-socket's native BluetoothHciSocket that speaks H4
 * over a unix socket to one of BlueZ's emulated controllers (`btvirt -s`), so noble's and
 * bleno's own JavaScript HCI, L2CAP, ATT, GATT and GAP code runs unchanged on a machine with no
 * Bluetooth in the kernel.
 *
 * `install()` puts this class in require.cache under the package's resolved path: noble and bleno
 * then get it from their `require('@abandonware/bluetooth-hci-socket')`. Each instance that binds
 * a raw (or user) channel connects to its own emulated controller (btvirt gives every client a
 * fresh one; the controllers of one btvirt share a radio). A control channel (bleno's mgmt
 * socket, for the kernel's key store) has no kernel behind it: it accepts and drops writes.
 *
 * What this cannot show: the native addon itself and the kernel's HCI layer (raw-mode filtering,
 * the addon's blocking L2CAP connect(), docs/BLE.md §Known limits).
 */
const net = require('node:net');
const path = require('node:path');
const { EventEmitter } = require('node:events');

/** The btvirt socket for a BR/EDR+LE controller (the LE-only one lacks Read RSSI). */
const DEFAULT_SERVER = '/tmp/bt-server-bredrle';

/** Length of the H4 packet at the start of `buf`, or 0 if it is not complete yet. */
function packetLength(buf) {
  if (buf.length < 1) return 0;
  const type = buf[0];
  let header;
  let body;
  if (type === 0x04) {
    if (buf.length < 3) return 0;
    header = 3;
    body = buf[2];
  } else if (type === 0x02) {
    if (buf.length < 5) return 0;
    header = 5;
    body = buf.readUInt16LE(3);
  } else if (type === 0x03) {
    if (buf.length < 4) return 0;
    header = 4;
    body = buf[3];
  } else if (type === 0x05) {
    if (buf.length < 5) return 0;
    header = 5;
    body = buf.readUInt16LE(3) & 0x3fff;
  } else {
    throw new Error(`H4: unknown packet type 0x${type.toString(16)}`);
  }
  return buf.length >= header + body ? header + body : 0;
}

/** Every live socket, so tests can make a controller vanish. */
const instances = new Set();

class H4HciSocket extends EventEmitter {
  constructor() {
    super();
    this._server = process.env.BT_VIRT_SERVER || DEFAULT_SERVER;
    this._conn = null;
    this._control = false;
    this._closed = false;
    this._running = false;
    this._rx = Buffer.alloc(0);
    this._pending = [];
    /** Every command the controller refused: { opcode, status } from Command Complete / Status events. */
    this.commandErrors = [];
    /** Free-form label tests set to find a socket again (e.g. 'car-1'). */
    this.label = process.env.BT_VIRT_LABEL || '';
  }

  /** Raw channel: the stacks' default mode. Connects to a fresh emulated controller. */
  bindRaw(devId) {
    this._connect();
    return devId === undefined ? 0 : devId;
  }

  /** User channel: same wire; noble cannot send data on it (docs/BLE.md). */
  bindUser(devId) {
    return this.bindRaw(devId);
  }

  /** bleno's mgmt socket: nothing behind it. */
  bindControl() {
    this._control = true;
  }

  /** Up until the controller's socket closes (writes before the connect completes are queued). */
  isDevUp() {
    return !this._control && this._conn !== null && !this._closed;
  }

  /** One emulated controller per socket. */
  getDeviceList() {
    return this.isDevUp() ? [{ devId: 0, devUp: true, idVendor: null, idProduct: null, busNumber: null, deviceAddress: null }] : [];
  }

  /** The kernel's raw-socket filter: the controller sends only events and data, so nothing to filter. */
  setFilter() {}

  start() {
    this._running = true;
    if (this._conn !== null) this._conn.resume();
  }

  stop() {
    this._running = false;
    if (this._conn !== null && !this._closed) this._conn.pause();
  }

  write(data) {
    if (this._control) return;
    if (this._closed || this._conn === null) {
      this.emit('error', Object.assign(new Error('write on a closed HCI socket'), { code: 'ENETDOWN' }));
      return;
    }
    if (this._pending !== null) this._pending.push(Buffer.from(data));
    else this._conn.write(Buffer.from(data));
  }

  /** Test hook: the controller disappears (its H4 connection closes). */
  vanish() {
    if (this._conn !== null) this._conn.destroy();
  }

  _connect() {
    if (this._conn !== null) return;
    const conn = net.connect(this._server);
    this._conn = conn;
    instances.add(this);
    conn.pause();
    conn.on('connect', () => {
      const queued = this._pending;
      this._pending = null;
      for (const b of queued) conn.write(b);
      if (this._running) conn.resume();
    });
    conn.on('data', (chunk) => this._onData(chunk));
    conn.on('error', (err) => {
      if (!this._closed) this.emit('error', err);
    });
    conn.on('close', () => {
      this._closed = true;
      instances.delete(this);
    });
  }

  /** Records a non-zero status in Command Complete (0x0E) or Command Status (0x0F). */
  _noteRefusal(p) {
    if (p[0] !== 0x04) return;
    if (p[1] === 0x0e && p.length >= 7 && p[6] !== 0) this.commandErrors.push({ opcode: p.readUInt16LE(4), status: p[6] });
    if (p[1] === 0x0f && p.length >= 7 && p[3] !== 0) this.commandErrors.push({ opcode: p.readUInt16LE(5), status: p[3] });
  }

  _onData(chunk) {
    this._rx = this._rx.length === 0 ? chunk : Buffer.concat([this._rx, chunk]);
    for (;;) {
      let n;
      try {
        n = packetLength(this._rx);
      } catch (err) {
        this.emit('error', err);
        this._conn.destroy();
        return;
      }
      if (n === 0) return;
      const packet = this._rx.subarray(0, n);
      this._rx = this._rx.subarray(n);
      this._noteRefusal(packet);
      this.emit('data', Buffer.from(packet));
    }
  }
}

/**
 * Makes `require('@abandonware/bluetooth-hci-socket')` (as resolved from noble and bleno) return
 * H4HciSocket. Must run before noble's or bleno's HCI code is first required. Idempotent.
 */
function install() {
  const Module = require('node:module');
  const resolved = new Set();
  for (const pkg of ['@abandonware/noble', '@abandonware/bleno']) {
    try {
      const dir = path.dirname(require.resolve(`${pkg}/package.json`));
      resolved.add(require.resolve('@abandonware/bluetooth-hci-socket', { paths: [dir] }));
    } catch {
      // That stack is not installed: nothing of it to redirect.
    }
  }
  for (const file of resolved) {
    if (require.cache[file]?.exports === H4HciSocket) continue;
    const m = new Module(file);
    m.filename = file;
    m.loaded = true;
    m.exports = H4HciSocket;
    require.cache[file] = m;
  }
}

module.exports = { H4HciSocket, install, instances, packetLength, DEFAULT_SERVER };
