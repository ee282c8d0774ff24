/**
 * `dkey vehicle …`: the key module. `init` makes the identity, `serve` is the daemon (phones over
 * bleno or the loopback socket, admin over the control socket), and the admin commands run
 * through the daemon's control socket when one is up, or on the store directly when none is.
 */
import { createNodeProvider } from '../crypto/node.js';
import { listenSocketLinks, type SocketLinkServer } from '../link/socket.js';
import { COMMAND } from '../protocol/constants.js';
import type { AuditEvent } from '../vehicle/store.js';
import type { CommandHandler } from '../vehicle/run-handler.js';
import { Vehicle } from '../vehicle/vehicle.js';
import { parseSocketAddress } from './address.js';
import { auditLine, auditView, commandName, runAdmin, vehicleInfo, type AdminRequest } from './admin.js';
import { connectControl, startControlServer } from './control.js';
import { CliError, EXIT, usage } from './errors.js';
import { execHandler, handlerInput } from './handler.js';
import type { GlobalOptions } from './output.js';
import { defaultControlPath, hasStore, openDaemonIdentityKey, openDaemonStore } from './store.js';

/** Options of the vehicle commands. */
export interface VehicleCliOptions extends GlobalOptions {
  store: string;
  control?: string;
}

/** Options of `dkey vehicle serve`. */
export interface ServeOptions extends VehicleCliOptions {
  socket?: string;
  ble?: boolean;
  onCommand?: string;
  handlerTimeout?: string;
  mtu?: string;
}

/** A vehicle over the daemon's store and identity key; `close` shuts both down. */
interface OpenVehicle {
  vehicle: Vehicle;
  close(): Promise<void>;
}

async function openVehicle(dir: string, options: { create?: boolean; handlers?: Record<number, CommandHandler>; handlerTimeoutMs?: number } = {}): Promise<OpenVehicle> {
  const crypto = createNodeProvider();
  const store = await openDaemonStore(dir, { create: options.create === true });
  if (!options.create && !store.getIdentity()) {
    await store.close();
    throw new CliError(EXIT.store, 'this store has no vehicle identity: run "dkey vehicle init" first');
  }
  let identity: Awaited<ReturnType<typeof openDaemonIdentityKey>>;
  try {
    identity = await openDaemonIdentityKey(dir, crypto);
  } catch (e) {
    await store.close();
    throw e;
  }
  try {
    const vehicle = await Vehicle.create({
      crypto,
      store,
      identityKey: identity.key,
      ...(options.handlers ? { handlers: options.handlers } : {}),
      ...(options.handlerTimeoutMs ? { handlerTimeoutMs: options.handlerTimeoutMs } : {}),
    });
    return { vehicle, close: () => vehicle.close().finally(() => identity.close()) };
  } catch (e) {
    await store.close().catch(() => undefined);
    await identity.close();
    throw e;
  }
}

/** `dkey vehicle init`: creates the store and the identity (idempotent). */
export async function init(o: VehicleCliOptions): Promise<ReturnType<typeof vehicleInfo> & { created: boolean }> {
  const created = !hasStore(o.store);
  const { vehicle, close } = await openVehicle(o.store, { create: true });
  try {
    if (created) await vehicle.audit({ timeMs: Date.now(), path: 'admin', outcome: 'INITIALISED' });
    return { ...vehicleInfo(vehicle), created };
  } finally {
    await close();
  }
}

/**
 * Runs an admin request on the daemon through its control socket, or on the store when no
 * daemon answers there.
 */
export async function admin(o: VehicleCliOptions, req: AdminRequest, options: { requireDaemon?: boolean } = {}): Promise<unknown> {
  const client = await connectControl(o.control ?? defaultControlPath(o.store));
  if (client) {
    try {
      return await client.request(req);
    } finally {
      client.close();
    }
  }
  // Said before the store is opened (opening it moves its time floor): nothing is touched.
  if (req.op === 'pair' || options.requireDaemon) {
    throw new CliError(EXIT.unreachable, `no key-module daemon is running for this store, and ${req.op === 'pair' ? 'a pairing window lives' : 'following the audit log needs'} the daemon: start "dkey vehicle serve" first`);
  }
  const { vehicle, close } = await openVehicle(o.store);
  try {
    return await runAdmin(vehicle, req, false);
  } finally {
    await close();
  }
}

/** `dkey vehicle audit --follow`: streams events from the daemon until it stops or ^C. */
export async function followAudit(o: VehicleCliOptions, onEvent: (e: Record<string, unknown>) => void): Promise<void> {
  const client = await connectControl(o.control ?? defaultControlPath(o.store));
  if (!client) throw new CliError(EXIT.unreachable, 'no key-module daemon is running for this store, so there is nothing to follow: start "dkey vehicle serve"');
  client.onEvent(onEvent);
  await client.request({ op: 'audit-follow' });
  await client.closed;
}

/** The handlers the daemon runs: EXEC per command, or a log line. */
function handlers(o: ServeOptions, log: (line: string, json: unknown) => void): Record<number, CommandHandler> {
  const run: CommandHandler = o.onCommand
    ? execHandler(o.onCommand)
    : (ctx) => log(`>>> ${commandName(ctx.command).toUpperCase()} for "${ctx.keyName}" (${ctx.path} path)`, { action: handlerInput(ctx) });
  return Object.fromEntries(Object.values(COMMAND).map((id) => [id, run]));
}

/** `dkey vehicle serve`: the daemon. Resolves when it has shut down after SIGTERM/SIGINT. */
export async function serve(o: ServeOptions): Promise<void> {
  if (!o.ble && o.socket === undefined) throw usage('say where phones reach the module: --socket PATH (loopback link) and/or --ble (bleno)');
  const handlerTimeoutMs = o.handlerTimeout !== undefined ? Number(o.handlerTimeout) : undefined;
  if (handlerTimeoutMs !== undefined && !(Number.isSafeInteger(handlerTimeoutMs) && handlerTimeoutMs > 0)) throw usage('"--handler-timeout" must be a positive number of milliseconds');
  const mtu = o.mtu !== undefined ? Number(o.mtu) : undefined;
  const address = o.socket !== undefined ? parseSocketAddress(o.socket) : undefined;
  // Bluetooth first: without an adapter nothing below is worth doing, and no store is left locked.
  const bleno = o.ble ? (await import('../ble/bleno.js')).loadBleno() : undefined;
  const log = (line: string, json: unknown): void => void process.stdout.write(`${o.json ? JSON.stringify(json) : line}\n`);
  const { vehicle, close } = await openVehicle(o.store, { handlers: handlers(o, log), ...(handlerTimeoutMs ? { handlerTimeoutMs } : {}) });
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await close();
  };
  try {
    vehicle.onAudit((e: AuditEvent) => log(`audit ${auditLine(e)}`, { audit: auditView(e) }));
    const control = o.control ?? defaultControlPath(o.store);
    const controlServer = await startControlServer(control, vehicle);
    stops.push(() => controlServer.close());
    let links: SocketLinkServer | undefined;
    if (address) {
      links = await listenSocketLinks(address, (link) => void vehicle.serve(link), { ...(mtu ? { mtu } : {}) });
      stops.push(() => links!.close());
    }
    if (bleno) {
      const { startBlenoVehicle } = await import('../ble/bleno.js');
      const handle = await startBlenoVehicle({ bleno, vehicle, crypto: vehicle.config.crypto, onError: (e) => log(`ble: ${e.message}`, { bleError: e.message }) });
      stops.push(() => handle.stop());
    }
    const info = vehicleInfo(vehicle);
    const where = [address ? `socket ${o.socket}` : null, bleno ? 'Bluetooth LE' : null].filter(Boolean).join(' and ');
    log(`serving vehicle ${info.vehicleId} (fingerprint ${info.fingerprint}) on ${where}; control socket ${control}; ${info.keys} key(s)`, { ready: { ...info, socket: o.socket ?? null, ble: bleno !== undefined, control } });
  } catch (e) {
    await stop();
    throw e;
  }
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string): void => {
      process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
      log(`${signal}: closing sessions and the store`, { stopping: signal });
      void stop().then(resolve);
    };
    process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  });
}

