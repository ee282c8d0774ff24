/**
 * Lazy loading of the optional BLE stacks (@abandonware/noble, @abandonware/bleno) and the one
 * sentence an application shows when they cannot run. Node-only: it uses `node:module`.
 *
 * Why lazy: on a machine without Bluetooth, requiring either package's main entry opens an HCI
 * socket at load time and throws EAFNOSUPPORT; imported at the top of a module that would kill
 * the process before any error handling runs. Both packages are CommonJS, so `createRequire`
 * loads them synchronously inside a try/catch.
 */

import { createRequire } from 'node:module';
import { AbortError, TransportError } from '../errors.js';
import type { Clock, TimerHandle } from '../transport/clock.js';
import { BleErrorCode } from './codes.js';
import { listen, type Emitter } from './gatt-op.js';

const requireCjs = createRequire(import.meta.url);

/** The optional peer dependencies this module loads. */
export type BlePackage = '@abandonware/noble' | '@abandonware/bleno';

/** Node error fields we look at. */
interface NodeErrorLike {
  code?: unknown;
  message?: unknown;
}

/** How to let the process open the HCI socket without root, on Linux. */
const SETCAP_HINT = 'sudo setcap cap_net_raw,cap_net_admin+eip $(readlink -f $(which node))';

/**
 * One sentence saying what is missing and how to fix it on Linux and macOS, for an error thrown
 * while loading `pkg`. Never includes a stack trace.
 */
export function explainLoadFailure(pkg: BlePackage, cause: unknown): string {
  const { code, message } = (typeof cause === 'object' && cause !== null ? cause : {}) as NodeErrorLike;
  const text = typeof message === 'string' ? message : String(cause);
  if (code === 'MODULE_NOT_FOUND' && text.includes(`'${pkg}'`)) {
    return `${pkg} is not installed: run "npm install ${pkg}" (an optional peer dependency of ble-digital-key; Linux and macOS only).`;
  }
  if (code === 'MODULE_NOT_FOUND' || /bindings file|native build|\.node\b|was compiled against/i.test(text)) {
    return (
      `The native part of ${pkg} is missing or was built for another Node version: on Linux install ` +
      `build-essential, python3 and libudev-dev, on macOS the Xcode command line tools, then run "npm rebuild ${pkg}".`
    );
  }
  if (code === 'EAFNOSUPPORT') {
    return (
      'Bluetooth LE is not available on this machine (no Bluetooth adapter or kernel Bluetooth support, EAFNOSUPPORT): ' +
      'on Linux attach a Bluetooth 4.0+ adapter and install BlueZ (check with "bluetoothctl list"), ' +
      'on macOS use a Mac with Bluetooth turned on.'
    );
  }
  if (code === 'EPERM' || code === 'EACCES') {
    return (
      `No permission to open the Bluetooth HCI socket: on Linux run with sudo or grant the capability once with "${SETCAP_HINT}", ` +
      'on macOS allow your terminal under System Settings › Privacy & Security › Bluetooth.'
    );
  }
  if (code === 'ENODEV') {
    return (
      'No Bluetooth adapter was found: on Linux check "bluetoothctl list" and pick the adapter with ' +
      'NOBLE_HCI_DEVICE_ID / BLENO_HCI_DEVICE_ID, on macOS turn Bluetooth on.'
    );
  }
  if (code === 'EBUSY') {
    return 'The Bluetooth adapter is busy: on Linux stop bluetoothd ("sudo systemctl stop bluetooth") before running the peripheral, on macOS close other Bluetooth apps.';
  }
  return `${pkg} failed to start (${typeof code === 'string' ? code : text.split('\n')[0] ?? 'unknown error'}): on Linux check BlueZ and the adapter with "bluetoothctl list", on macOS check that Bluetooth is on.`;
}

/** The TransportError `BLE_UNAVAILABLE` for a load failure; its message is {@link explainLoadFailure}. */
export function bleUnavailableError(pkg: BlePackage, cause: unknown): TransportError {
  return new TransportError(BleErrorCode.unavailable, explainLoadFailure(pkg, cause), { cause, retryable: false });
}

/**
 * Requires `specifier` (the package or one of its files), mapping any failure to
 * TransportError `BLE_UNAVAILABLE` with a one-sentence fix.
 */
export function requireBle(pkg: BlePackage, specifier: string = pkg): unknown {
  try {
    return requireCjs(specifier);
  } catch (err) {
    throw bleUnavailableError(pkg, err);
  }
}

/**
 * The sentence for an adapter that reports a state other than `poweredOn` (noble and bleno use
 * the same state names, after CoreBluetooth).
 */
export function explainAdapterState(state: string): string {
  switch (state) {
    case 'poweredOff':
      return 'Bluetooth is turned off: on Linux run "bluetoothctl power on" (and "rfkill unblock bluetooth" if it is blocked), on macOS turn Bluetooth on in Control Center.';
    case 'unauthorized':
      return `No permission to use Bluetooth: on Linux run with sudo or grant the capability once with "${SETCAP_HINT}", on macOS allow your terminal under System Settings › Privacy & Security › Bluetooth.`;
    case 'unsupported':
      return 'This Bluetooth adapter does not support Bluetooth LE: use a Bluetooth 4.0+ adapter (on Linux pick it with NOBLE_HCI_DEVICE_ID / BLENO_HCI_DEVICE_ID).';
    default:
      return `The Bluetooth adapter did not become ready (state "${state}"): on Linux check "bluetoothctl show", on macOS check that Bluetooth is on.`;
  }
}

/** An adapter object that reports its power state (noble and bleno instances both do). */
export interface StatefulAdapter extends Emitter {
  readonly state: string;
}

/** States after which waiting is pointless: the user or the integrator must act. */
const TERMINAL_STATES = new Set(['poweredOff', 'unauthorized', 'unsupported']);

/**
 * Resolves once `adapter` is `poweredOn`. Rejects with TransportError `BLE_ADAPTER_STATE` at once
 * for a state that will not change by itself (off, unauthorized, unsupported) or after
 * `timeoutMs`, and with TransportError `BLE_UNAVAILABLE` if starting the stack throws (noble and
 * bleno open the HCI socket on first use). Removes its listener and timer however it ends.
 */
export function waitPoweredOn(
  pkg: BlePackage,
  adapter: StatefulAdapter,
  clock: Clock,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let timer: TimerHandle | undefined;
    let off = (): void => {};
    const finish = (err?: Error): void => {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      off();
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onState = (state: string): void => {
      if (state === 'poweredOn') finish();
      else if (TERMINAL_STATES.has(state)) finish(new TransportError(BleErrorCode.adapterState, explainAdapterState(state), { retryable: state === 'poweredOff' }));
    };
    const onAbort = (): void => finish(new AbortError('waiting for the Bluetooth adapter was aborted', { cause: signal?.reason }));
    if (signal?.aborted === true) return onAbort();
    let state: string;
    try {
      // Reading `state` starts noble's stack; subscribing to 'stateChange' starts bleno's. Either may throw.
      state = adapter.state;
      off = listen(adapter, 'stateChange', onState);
    } catch (err) {
      off();
      return reject(bleUnavailableError(pkg, err));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    timer = clock.setTimeout(() => {
      timer = undefined;
      finish(new TransportError(BleErrorCode.adapterState, explainAdapterState(adapter.state)));
    }, timeoutMs);
    onState(state === 'poweredOn' ? state : adapter.state);
  });
}
