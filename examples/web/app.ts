/**
 * The web key page (examples/web/index.html): pair with and unlock a car from a browser.
 *
 * - Real car: Chrome on Android (or desktop Chrome/Edge with Bluetooth) talks Web Bluetooth to a
 *   key module running `npm run example:vehicle -- --pair`, through `ble-digital-key/ble/web`.
 * - Simulated car: without Bluetooth, a Vehicle runs in this page and the phone reaches it over
 *   the mock BLE link (`ble-digital-key/mock`, 15 ms connection interval, MTU 185).
 *
 * Every step is logged with its messages, bytes and time. State lives in memory only: reloading
 * the page forgets the pairing (a real app keeps its PhoneStore in durable storage).
 */
import { getWebBluetooth, requestVehicleDevice, connectWebBluetoothLink } from '../../src/ble/web.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { createSoftwareSigner } from '../../src/crypto/signer.js';
import { DigitalKeyError } from '../../src/errors.js';
import { Phone } from '../../src/phone/phone.js';
import { PhoneStore, type PairedVehicle } from '../../src/phone/store.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { createMockLinkPair, VirtualClock } from '../../src/transport/mock/index.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { Vehicle } from '../../src/vehicle/vehicle.js';
import type { Link } from '../../src/transport/link.js';

/** One line of the step log. */
export interface StepRecord {
  car: 'simulated' | 'real';
  step: string;
  ok: boolean;
  detail: string;
  messages: number;
  /** Bytes on the air (simulated car) or GATT values carried (real car: Web Bluetooth counts no bytes). */
  air: string;
  ms: number;
}

const crypto = createNobleProvider();
const log: StepRecord[] = [];
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Adds a row to the log table. */
function record(r: StepRecord): void {
  log.push(r);
  const row = document.createElement('tr');
  row.dataset.car = r.car;
  row.dataset.step = r.step;
  row.dataset.ok = String(r.ok);
  for (const cell of [r.car, r.step, r.ok ? '✓ ' + r.detail : '✗ ' + r.detail, String(r.messages), r.air, `${r.ms.toFixed(1)} ms`]) {
    const td = document.createElement('td');
    td.textContent = cell;
    row.appendChild(td);
  }
  $('log').appendChild(row);
}

/** What an error tells the user: its stable code and its sentence. */
function describe(err: unknown): string {
  return err instanceof DigitalKeyError ? `${err.code}: ${err.message}` : String(err);
}

// ---------------------------------------------------------------------------------------------
// Simulated car: a Vehicle in the page, over the mock link on simulated time.
// ---------------------------------------------------------------------------------------------

const simClock = new VirtualClock(Date.now());
const simExecuted: string[] = [];
const simPhone = new Phone({ crypto, clock: simClock, signer: createSoftwareSigner(crypto), store: new PhoneStore(createMemoryVault()) });
let simCar: Vehicle | null = null;
let simPaired: PairedVehicle | null = null;

async function simVehicle(): Promise<Vehicle> {
  if (simCar !== null) return simCar;
  const done = (name: string) => () => void simExecuted.push(name);
  simCar = await Vehicle.create({
    crypto,
    clock: simClock,
    store: await openVehicleStore(createMemoryVault()),
    handlers: { [COMMAND.unlock]: done('unlocked'), [COMMAND.lock]: done('locked') },
  });
  return simCar;
}

/** Runs one exchange on a fresh mock connection and logs messages, bytes and simulated time. */
async function simStep(step: string, f: (link: Link) => Promise<string>): Promise<void> {
  const vehicle = await simVehicle();
  const pair = createMockLinkPair({ clock: simClock, mtu: 185, connectionIntervalMs: 15 });
  const served = vehicle.serve(pair.vehicle);
  const t0 = simClock.now();
  let ok = true;
  let detail: string;
  try {
    detail = await simClock.runUntilSettled(f(pair.phone));
  } catch (err) {
    ok = false;
    detail = describe(err);
  }
  const ms = simClock.now() - t0;
  await pair.phone.close('step done');
  await simClock.runUntilSettled(served.catch(() => undefined));
  const s = pair.stats.snapshot();
  record({ car: 'simulated', step, ok, detail, messages: s.toVehicle.messages + s.toPhone.messages, air: `${s.toVehicle.airBytes + s.toPhone.airBytes} bytes`, ms });
}

async function simPair(): Promise<void> {
  const vehicle = await simVehicle();
  // A light KDF for the demo page; a car's default (scrypt 2^15) takes a few seconds in pure JS.
  const { code } = vehicle.openPairingWindow({ ttlMs: 5 * 60_000, kdf: { logN: 12, r: 8, p: 1 } });
  $('sim-code').textContent = code ?? '';
  await simStep('pair', async (link) => {
    simPaired = await simPhone.pair(link, code!, { keyName: 'web key', vehicleName: 'simulated car' });
    return `paired with code ${code}`;
  });
}

async function simCommand(step: 'unlock' | 'lock'): Promise<void> {
  await simStep(step, async (link) => {
    if (simPaired === null) throw new Error('pair first');
    const session = await simPhone.connect(link, simPaired.vehicleId, { id: step === 'unlock' ? COMMAND.unlock : COMMAND.lock });
    await session.close();
    return `${session.firstResult.code} on the ${session.path} path (car: ${simExecuted.at(-1) ?? 'nothing'})`;
  });
}

// ---------------------------------------------------------------------------------------------
// Real car over Web Bluetooth.
// ---------------------------------------------------------------------------------------------

const realPhone = new Phone({ crypto, signer: createSoftwareSigner(crypto), store: new PhoneStore(createMemoryVault()) });
let realPaired: PairedVehicle | null = null;

/** Opens the chooser (this runs inside the click), connects, runs `f`, and logs wall-clock time. */
async function realStep(step: string, f: (link: Link) => Promise<string>): Promise<void> {
  const t0 = performance.now();
  let ok = true;
  let detail: string;
  let messages = 0;
  let values = 0;
  try {
    const device = await requestVehicleDevice();
    const link = await connectWebBluetoothLink(device);
    try {
      detail = await f(link);
    } finally {
      messages = link.stats.messagesSent + link.stats.messagesReceived;
      values = link.stats.chunksSent + link.stats.chunksReceived;
      await link.close('step done');
    }
    detail += ` (ATT MTU ${link.info.attMtu})`;
  } catch (err) {
    ok = false;
    detail = describe(err);
  }
  record({ car: 'real', step, ok, detail, messages, air: `${values} GATT values`, ms: performance.now() - t0 });
}

function realPair(): Promise<void> {
  const code = ($('real-code') as HTMLInputElement).value.trim();
  return realStep('pair', async (link) => {
    realPaired = await realPhone.pair(link, code, { keyName: 'web key', vehicleName: 'car' });
    const session = await realPhone.connect(link, realPaired.vehicleId, { id: COMMAND.unlock });
    await session.close();
    return `paired; unlock ${session.firstResult.code} on the ${session.path} path`;
  });
}

function realCommand(step: 'unlock' | 'lock'): Promise<void> {
  return realStep(step, async (link) => {
    if (realPaired === null) throw new Error('pair first');
    const session = await realPhone.connect(link, realPaired.vehicleId, { id: step === 'unlock' ? COMMAND.unlock : COMMAND.lock });
    await session.close();
    return `${session.firstResult.code} on the ${session.path} path`;
  });
}

// ---------------------------------------------------------------------------------------------
// Wiring.
// ---------------------------------------------------------------------------------------------

/** Runs a handler with the buttons disabled, so steps do not overlap. */
function button(id: string, f: () => Promise<void>): void {
  $(id).addEventListener('click', () => {
    const buttons = Array.from(document.querySelectorAll('button'));
    for (const b of buttons) b.disabled = true;
    void f().finally(() => {
      for (const b of buttons) b.disabled = b.dataset.needsBluetooth === 'true' && !bluetoothOk;
      document.body.dataset.busy = 'false';
    });
    document.body.dataset.busy = 'true';
  });
}

let bluetoothOk = false;
try {
  getWebBluetooth();
  bluetoothOk = true;
  $('bt-status').textContent = 'Web Bluetooth is available: start the key module with `npm run example:vehicle -- --pair` and type its code.';
} catch (err) {
  $('bt-status').textContent = `${describe(err)}. The simulated car below works without it.`;
}
for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('button[data-needs-bluetooth="true"]'))) b.disabled = !bluetoothOk;
button('sim-pair', simPair);
button('sim-unlock', () => simCommand('unlock'));
button('sim-lock', () => simCommand('lock'));
button('real-pair', realPair);
button('real-unlock', () => realCommand('unlock'));
button('real-lock', () => realCommand('lock'));
document.body.dataset.ready = 'true';
(globalThis as { dkWebKey?: unknown }).dkWebKey = { log };
