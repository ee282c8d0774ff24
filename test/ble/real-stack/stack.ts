/**
 * noble and bleno, unchanged, on BlueZ's emulated controllers: h4-socket.cjs replaces the native
 * HCI socket, and every phone or car made here gets its own controller on the shared radio.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { BlenoLike } from '../../../src/ble/bleno.js';
import { loadNoble, type NobleLike } from '../../../src/ble/noble.js';

const requireCjs = createRequire(import.meta.url);

/** The H4 socket class's test surface. */
export interface H4Socket {
  label: string;
  /** Commands the controller refused ({ opcode, status }), e.g. 0x200a / 0x0c for a double advertise enable. */
  readonly commandErrors: Array<{ opcode: number; status: number }>;
  isDevUp(): boolean;
  vanish(): void;
}

const h4 = requireCjs('./h4-socket.cjs') as { install(): void; instances: Set<H4Socket> };
h4.install();
// Every noble instance adds exit and SIGINT listeners to process.
process.setMaxListeners(100);

/** A noble on its own emulated controller (noble's HCI bindings, its raw channel). */
export function newNoble(): { noble: NobleLike; socket: H4Socket } {
  const Bindings = requireCjs('@abandonware/noble/lib/hci-socket/bindings.js') as new (options: object) => { _hci: { _socket: H4Socket } };
  const bindings = new Bindings({});
  return { noble: loadNoble({ bindings }), socket: bindings._hci._socket };
}

/** bleno's internals the tests reach into (its singleton design leaves no other way). */
interface BlenoInternals {
  _bindings: { _hci: { _socket: H4Socket }; _gatt: { maxMtu: number } };
}

const BLENO_DIR = dirname(requireCjs.resolve('@abandonware/bleno/package.json'));

/**
 * A fresh bleno on its own emulated controller. bleno's entry and its HCI bindings are
 * singletons, so its files are dropped from require.cache first (the H4 socket stays).
 * `maxMtu` caps the ATT MTU bleno accepts (its default is 256); `server` picks another btvirt
 * controller type (e.g. /tmp/bt-server-le, which lacks Read RSSI).
 */
export function newBleno(maxMtu?: number, server?: string): { bleno: BlenoLike; socket: H4Socket } {
  for (const file of Object.keys(requireCjs.cache)) if (file.startsWith(`${BLENO_DIR}/`)) delete requireCjs.cache[file];
  if (process.env.BLENO_DEVICE_NAME === undefined) process.env.BLENO_DEVICE_NAME = 'DK';
  const saved = process.env.BT_VIRT_SERVER;
  if (server !== undefined) process.env.BT_VIRT_SERVER = server;
  let bleno: BlenoLike & BlenoInternals;
  try {
    // The H4 socket reads BT_VIRT_SERVER when bleno constructs it, at require time.
    bleno = requireCjs('@abandonware/bleno') as BlenoLike & BlenoInternals;
  } finally {
    if (saved === undefined) delete process.env.BT_VIRT_SERVER;
    else process.env.BT_VIRT_SERVER = saved;
  }
  if (maxMtu !== undefined) bleno._bindings._gatt.maxMtu = maxMtu;
  return { bleno, socket: bleno._bindings._hci._socket };
}

/** Makes every controller made so far vanish (between scenarios, so no car outlives its test). */
export function vanishAll(): void {
  for (const s of [...h4.instances]) s.vanish();
}
