/**
 * What the Chromium test runs inside the page (bundled with esbuild): the core's pairing + full +
 * resumed unlock over the mock link, the Web Bluetooth adapter against an in-page simulated car, and
 * the adapter's checks against the browser's REAL navigator.bluetooth (absent, or present with no
 * adapter, depending on the launch flags).
 */
import { checkWebBluetooth, connectWebBluetoothLink, getWebBluetooth, requestVehicleDevice, type WebBluetooth } from '../../src/ble/web.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { createSoftwareSigner } from '../../src/crypto/signer.js';
import { DigitalKeyError } from '../../src/errors.js';
import { Phone } from '../../src/phone/phone.js';
import { PhoneStore } from '../../src/phone/store.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { createMockLinkPair, VirtualClock } from '../../src/transport/mock/index.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { Vehicle } from '../../src/vehicle/vehicle.js';
import { createSimBluetooth } from './sim-bluetooth.js';

const crypto = createNobleProvider();

async function world() {
  const clock = new VirtualClock(Date.now());
  const executed: string[] = [];
  const vehicle = await Vehicle.create({
    crypto,
    clock,
    store: await openVehicleStore(createMemoryVault()),
    handlers: { [COMMAND.unlock]: (ctx) => void executed.push(`unlock/${ctx.path}`), [COMMAND.lock]: (ctx) => void executed.push(`lock/${ctx.path}`) },
    timeFloorIntervalMs: 0, // the test counts the timers the phone side leaves; the car's idle floor timer is its own
  });
  const phone = new Phone({ crypto, clock, signer: createSoftwareSigner(crypto), store: new PhoneStore(createMemoryVault()) });
  return { clock, vehicle, phone, executed, run: <T>(p: Promise<T>) => clock.runUntilSettled(p) };
}

/** Owner pairing, then a full and a resumed unlock, over the mock link. */
async function runCore() {
  const w = await world();
  const { code } = w.vehicle.openPairingWindow({ ttlMs: 60_000, kdf: { logN: 10, r: 8, p: 1 } });
  const paths: string[] = [];
  for (let i = 0; i < 3; i++) {
    const pair = createMockLinkPair({ clock: w.clock, mtu: 185 });
    const served = w.vehicle.serve(pair.vehicle);
    if (i === 0) {
      await w.run(w.phone.pair(pair.phone, code!, { vehicleName: 'car' }));
      await pair.phone.close();
    } else {
      const session = await w.run(w.phone.connect(pair.phone, w.vehicle.identity.vehicleId, { id: COMMAND.unlock }));
      paths.push(`${session.path}:${session.firstResult.code}`);
      await w.run(session.close());
    }
    await w.run(served.catch(() => undefined));
  }
  return { paths, executed: w.executed, hasTextEncoder: typeof TextEncoder === 'function' };
}

/** The Web Bluetooth adapter against the in-page simulated car: full, then resumed unlock. */
async function runWebAdapter(mtu: number) {
  const w = await world();
  await w.phone.addVehicle({ ...w.vehicle.peer, name: 'car' });
  await w.vehicle.enrollOwner(w.phone.publicKey, 'owner');
  const sim = createSimBluetooth(w.vehicle, { clock: w.clock, mtu, intervalMs: 15 });
  const bt = sim.bluetooth as unknown as WebBluetooth;
  const paths: string[] = [];
  let linkMtu = 0;
  for (let i = 0; i < 2; i++) {
    const device = await w.run(requestVehicleDevice(bt));
    const link = await w.run(connectWebBluetoothLink(device, { clock: w.clock }));
    linkMtu = link.mtu;
    const session = await w.run(w.phone.connect(link, w.vehicle.identity.vehicleId, { id: COMMAND.unlock }));
    paths.push(`${session.path}:${session.firstResult.code}`);
    await w.run(session.close());
    await w.clock.advance(100);
  }
  return { paths, executed: w.executed, linkMtu, maxWritten: Math.max(...sim.written), pendingTimers: w.clock.pendingTimers };
}

/** The adapter against the browser's own navigator.bluetooth. */
async function probeReal() {
  const code = (e: unknown) => (e instanceof DigitalKeyError ? e.code : `untyped ${String(e)}`);
  let get: string;
  let bt: WebBluetooth | null = null;
  try {
    bt = getWebBluetooth();
    get = 'ok';
  } catch (e) {
    get = code(e);
  }
  const check = bt === null ? 'skipped' : await checkWebBluetooth(bt).then(() => 'ok', code);
  const message = (() => {
    try {
      getWebBluetooth({});
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  })();
  return { get, check, absentMessage: message };
}

/** Binds requestVehicleDevice to a click on `#request`, outcome in `window.requestOutcome`. */
function bindRequestButton() {
  const button = document.createElement('button');
  button.id = 'request';
  button.textContent = 'request';
  document.body.appendChild(button);
  const out = globalThis as { requestOutcome?: Promise<string> };
  button.addEventListener('click', () => {
    out.requestOutcome = requestVehicleDevice().then(
      () => 'ok',
      (e: unknown) => (e instanceof DigitalKeyError ? `${e.code}: ${e.message}` : `untyped ${String(e)}`),
    );
  });
}

/** Without a click: outcome of requestVehicleDevice. */
async function requestWithoutGesture() {
  return requestVehicleDevice().then(
    () => 'ok',
    (e: unknown) => (e instanceof DigitalKeyError ? `${e.code}: ${e.message}` : `untyped ${String(e)}`),
  );
}

(globalThis as { dk?: unknown }).dk = { runCore, runWebAdapter, probeReal, bindRequestButton, requestWithoutGesture };
