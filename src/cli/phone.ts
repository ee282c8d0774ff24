/**
 * `dkey phone …`: a phone key on a laptop, over a BLE dongle (noble) or the loopback socket.
 * The home directory (--home, 0700) holds the device key in `device-key` (hex, mode 0600: a
 * software key, where a real phone uses its Secure Enclave / Keystore) and the phone store (a
 * file vault in `vault/`: paired cars, grants still to present, tickets).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fromHex, toHex } from '../crypto/bytes.js';
import { createNodeProvider } from '../crypto/node.js';
import { createSoftwareSigner } from '../crypto/signer.js';
import { connectSocketLink } from '../link/socket.js';
import { COMMAND, MGMT_COMMAND } from '../protocol/constants.js';
import { decodeShareBundle } from '../protocol/grant.js';
import { AuditPageSchema, KeyArgSchema, KeyPageSchema, PageArgSchema, type AuditInfo, type KeyInfo } from '../protocol/management.js';
import { openFileVault, type FileVault } from '../store/file-vault.js';
import type { Link } from '../transport/link.js';
import { decodeMessage, encodeMessage } from '../wire/schema.js';
import { Phone, expectOk, type CommandResult, type PhoneSession } from '../phone/phone.js';
import { PhoneStore, type PairedVehicle } from '../phone/store.js';
import { parseSocketAddress } from './address.js';
import { commandName } from './admin.js';
import { CliError, EXIT, usage } from './errors.js';
import { withProgress, type GlobalOptions } from './output.js';
import { checkOwnDir, vaultDir } from './store.js';

/** Options of every phone command. */
export interface PhoneOptions extends GlobalOptions {
  home: string;
  socket?: string;
  ble?: boolean;
  vehicle?: string;
  timeout?: string;
}

const KEY_FILE = 'device-key';

/** An open phone home; `close` releases the store lock. */
export interface PhoneHome {
  phone: Phone;
  vault: FileVault;
  close(): Promise<void>;
}

/** Creates the home: device key (0600) and store. Returns the public key; idempotent. */
export async function initHome(home: string): Promise<{ publicKey: string; keyId: string; created: boolean }> {
  checkOwnDir(home, 'phone home', true);
  const keyFile = path.join(path.resolve(home), KEY_FILE);
  const crypto = createNodeProvider();
  let created = false;
  if (!fs.existsSync(keyFile)) {
    const signer = createSoftwareSigner(crypto);
    // 'wx': never overwrite a key another run made meanwhile.
    fs.writeFileSync(keyFile, `${toHex(signer.exportPrivateKey())}\n`, { mode: 0o600, flag: 'wx' });
    created = true;
  }
  const h = await openHome(home);
  try {
    return { publicKey: toHex(h.phone.publicKey), keyId: toHex(h.phone.keyId), created };
  } finally {
    await h.close();
  }
}

/** Opens an initialised home. */
export async function openHome(home: string): Promise<PhoneHome> {
  checkOwnDir(home, 'phone home', false);
  const keyFile = path.join(path.resolve(home), KEY_FILE);
  let st: fs.Stats;
  try {
    st = fs.statSync(keyFile);
  } catch {
    throw new CliError(EXIT.store, `there is no device key in ${path.resolve(home)}: run "dkey phone init --home ${home}" first`);
  }
  if ((st.mode & 0o077) !== 0) throw new CliError(EXIT.store, `the device key ${keyFile} is readable by other users: run "chmod 600 ${keyFile}"`);
  const text = fs.readFileSync(keyFile, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new CliError(EXIT.store, `the device key ${keyFile} is damaged (expected 64 hex digits)`);
  const crypto = createNodeProvider();
  const vault = await openFileVault(vaultDir(home));
  const phone = new Phone({ crypto, signer: createSoftwareSigner(crypto, fromHex(text)), store: new PhoneStore(vault) });
  return { phone, vault, close: () => phone.flush().then(() => vault.close()) };
}

/** Runs `f` on an open home and always closes it. */
export async function withHome<T>(home: string, f: (h: PhoneHome) => Promise<T>): Promise<T> {
  const h = await openHome(home);
  try {
    return await f(h);
  } finally {
    await h.close();
  }
}

/** The paired car chosen by --vehicle (hex id or unique prefix), or the only one. */
export async function pickVehicle(phone: Phone, wanted: string | undefined): Promise<PairedVehicle> {
  const all = await phone.store.listVehicles();
  if (wanted === undefined) {
    if (all.length === 0) throw new CliError(EXIT.usage, 'this phone has no car yet: pair with "dkey phone pair --code CODE" or accept a share');
    if (all.length > 1) throw new CliError(EXIT.usage, `this phone has ${all.length} cars: pick one with --vehicle ID (see "dkey phone cars")`);
    return all[0]!;
  }
  const w = wanted.trim().toLowerCase();
  const matches = all.filter((v) => toHex(v.vehicleId).startsWith(w));
  if (w.length < 4 || matches.length !== 1) throw new CliError(EXIT.usage, `this phone is not paired with a car whose id is ${wanted}: see "dkey phone cars"`);
  return matches[0]!;
}

function timeoutMs(o: PhoneOptions): number {
  const ms = Number(o.timeout ?? 15_000);
  if (!Number.isFinite(ms) || ms <= 0) throw usage('"--timeout" must be a positive number of milliseconds');
  return ms;
}

/** Opens a link to `vehicle` over --socket or --ble (`null`: the socket's car, for pairing). */
export async function openLink(o: PhoneOptions, phone: Phone, vehicle: PairedVehicle | null): Promise<Link> {
  if (o.socket !== undefined && o.ble) throw usage('pass either --socket PATH or --ble, not both');
  if (o.socket !== undefined) {
    try {
      return await connectSocketLink(parseSocketAddress(o.socket));
    } catch (e) {
      throw new CliError(EXIT.unreachable, `no key module is listening at ${o.socket}: start one with "dkey vehicle serve --socket ${o.socket}"`, { cause: e });
    }
  }
  if (!o.ble) throw usage('say how to reach the car: --socket PATH (the loopback link) or --ble (a Bluetooth adapter)');
  if (vehicle === null) throw new CliError(EXIT.internal, 'openLink needs a vehicle over --ble');
  const { loadNoble, openVehicleLink } = await import('../ble/noble.js');
  const noble = loadNoble();
  return (await withProgress(o, 'scanning for the car', () => openVehicleLink({ noble, crypto: phone.crypto, vehicles: [vehicle], timeoutMs: timeoutMs(o) }))).link;
}

/** Links to the cars that may be in pairing mode: the socket's one, or every car heard over BLE, nearest first. */
async function pairingLinks(o: PhoneOptions, phone: Phone): Promise<Array<() => Promise<Link>>> {
  if (!o.ble || o.socket !== undefined) return [() => openLink(o, phone, null)];
  const { loadNoble, scanForPairing, connectNobleLink } = await import('../ble/noble.js');
  const noble = loadNoble();
  const known = { crypto: phone.crypto, vehicles: await phone.store.listVehicles() };
  const candidates = await withProgress(o, 'listening for cars in pairing mode', () => scanForPairing({ noble, listenMs: Math.min(timeoutMs(o), 3_000), known }));
  if (candidates.length === 0) throw new CliError(EXIT.unreachable, 'no car in pairing mode was heard: open a window with "dkey vehicle pair" and stay close');
  return candidates.map((c) => () => connectNobleLink(c.peripheral));
}

/** Pairs with the code the car shows; the link is closed afterwards. */
export async function pair(o: PhoneOptions, code: string, names: { keyName?: string; vehicleName?: string }): Promise<PairedVehicle> {
  if (!/^\d{4,12}$/.test(code)) throw usage('the pairing code is the 4 to 12 digits the car shows');
  return withHome(o.home, async ({ phone }) => {
    let lastError: unknown;
    // Nearest first: a car with no window open, or another code, refuses and learns nothing.
    for (const open of await pairingLinks(o, phone)) {
      const link = await open();
      try {
        return await withProgress(o, 'pairing (stretching the code with scrypt)', () => phone.pair(link, code, { keyName: names.keyName ?? 'dkey phone', vehicleName: names.vehicleName ?? 'car' }));
      } catch (e) {
        lastError = e;
      } finally {
        await link.close('pairing done');
      }
    }
    throw lastError;
  });
}

/** Runs one car command (unlock, lock, trunk, start); the user typing it is the user present. */
export async function runCommand(o: PhoneOptions, name: keyof typeof COMMAND): Promise<CommandResult & { vehicleId: string; command: string }> {
  return withHome(o.home, async ({ phone }) => {
    const vehicle = await pickVehicle(phone, o.vehicle);
    const link = await openLink(o, phone, vehicle);
    try {
      const result = await phone.command(link, vehicle.vehicleId, { id: COMMAND[name], userPresent: true });
      return { ...result, vehicleId: toHex(vehicle.vehicleId), command: name };
    } finally {
      await link.close('command done'); // also when the car never answered
    }
  });
}

/** An owner session on the car for management commands; `f` gets the open session. */
async function manage<T>(o: PhoneOptions, f: (s: PhoneSession, first: CommandResult) => Promise<T>, first: { id: number; data?: Uint8Array }): Promise<T> {
  return withHome(o.home, async ({ phone }) => {
    const vehicle = await pickVehicle(phone, o.vehicle);
    const link = await openLink(o, phone, vehicle);
    try {
      const session = await phone.connect(link, vehicle.vehicleId, first);
      try {
        return await f(session, expectOk(session.firstResult));
      } finally {
        await session.close();
      }
    } finally {
      await link.close('management done');
    }
  });
}

/** Every page of a paged management listing. */
async function pages<P extends { total: number }, I>(s: PhoneSession, first: CommandResult, id: number, decode: (b: Uint8Array) => P, items: (p: P) => I[]): Promise<I[]> {
  let page = decode(first.data ?? new Uint8Array());
  const out = [...items(page)];
  while (out.length < page.total && items(page).length > 0) {
    page = decode((await s.send({ id, data: encodeMessage(PageArgSchema, { offset: out.length }) })).data ?? new Uint8Array());
    out.push(...items(page));
  }
  return out;
}

/** The car's keys, as its owner sees them over the air. */
export function listKeys(o: PhoneOptions): Promise<KeyInfo[]> {
  const decode = (b: Uint8Array) => decodeMessage(KeyPageSchema, b);
  return manage(o, (s, first) => pages(s, first, MGMT_COMMAND.listKeys, decode, (p) => p.keys), { id: MGMT_COMMAND.listKeys });
}

/** Revokes a key on the car over the air (owner only); `keyId` may be a unique prefix. */
export function revokeKey(o: PhoneOptions, keyId: string): Promise<{ revoked: string; name: string }> {
  const decode = (b: Uint8Array) => decodeMessage(KeyPageSchema, b);
  const w = keyId.trim().toLowerCase();
  if (!/^[0-9a-f]{4,}$/.test(w)) throw usage(`"${keyId}" is not a key id (hex, at least 4 digits)`);
  return manage(
    o,
    async (s, first) => {
      const keys = (await pages(s, first, MGMT_COMMAND.listKeys, decode, (p) => p.keys)).filter((k) => toHex(k.keyId).startsWith(w));
      if (keys.length !== 1) throw new CliError(keys.length === 0 ? EXIT.refused : EXIT.usage, keys.length === 0 ? `the car has no key with id ${w}` : `${w} matches ${keys.length} keys: give more digits`);
      await s.send({ id: MGMT_COMMAND.revokeKey, data: encodeMessage(KeyArgSchema, { keyId: keys[0]!.keyId }) });
      return { revoked: toHex(keys[0]!.keyId), name: keys[0]!.name };
    },
    { id: MGMT_COMMAND.listKeys },
  );
}

/** The car's audit log, as its owner reads it over the air. */
export function readAudit(o: PhoneOptions): Promise<AuditInfo[]> {
  const decode = (b: Uint8Array) => decodeMessage(AuditPageSchema, b);
  return manage(o, (s, first) => pages(s, first, MGMT_COMMAND.readAudit, decode, (p) => p.records), { id: MGMT_COMMAND.readAudit });
}

/** Parses --until: an ISO date, or a duration from now such as 2d, 12h, 30m. */
export function parseUntil(text: string, now: number): number {
  const rel = /^(\d+)([dhm])$/.exec(text.trim());
  if (rel) return now + Number(rel[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2] as 'd' | 'h' | 'm'];
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw usage(`"${text}" is not a date (2026-12-31T18:00Z) or a duration (2d, 12h, 30m)`);
  if (ms <= now) throw usage(`"${text}" is in the past`);
  return ms;
}

/** Parses --commands: names (unlock, lock, trunk, start) or ids ≥ 128, comma-separated. */
export function parseCommands(text: string): number[] {
  return text.split(',').map((raw) => {
    const name = raw.trim();
    const id = (COMMAND as Record<string, number>)[name] ?? (/^\d+$/.test(name) ? Number(name) : NaN);
    if (!Number.isInteger(id) || id < 1 || id > 255) throw usage(`"${name}" is not a command: use unlock, lock, trunk, start or an id from 128 to 255`);
    return id;
  });
}

/** Signs a grant for a friend's public key and returns the share text. */
export function share(o: PhoneOptions, to: string, commands: number[], untilMs: number, extra: { name?: string; canShare?: boolean; uses?: number }) {
  if (!/^[0-9a-f]{66}$|^[0-9a-f]{130}$/i.test(to.trim())) throw usage('--to takes the friend\'s public key in hex, as "dkey phone init" prints it');
  return withHome(o.home, async ({ phone }) => {
    const vehicle = await pickVehicle(phone, o.vehicle);
    const now = Date.now();
    const { text, grantId } = await phone.shareKey(vehicle.vehicleId, {
      subjectKey: fromHex(to.trim().toLowerCase()),
      commands,
      notBeforeMs: now - 60_000, // a minute of slack for the car's clock
      notAfterMs: untilMs,
      ...(extra.name ? { name: extra.name } : {}),
      ...(extra.canShare ? { canShare: true } : {}),
      ...(extra.uses !== undefined ? { useLimit: extra.uses } : {}),
    });
    return { text, grantId: toHex(grantId), vehicleId: toHex(vehicle.vehicleId), commands: commands.map(commandName), until: new Date(untilMs).toISOString() };
  });
}

/** Imports a share text; returns the car's id. */
export function accept(o: PhoneOptions, text: string, name?: string): Promise<{ vehicleId: string; grants: number }> {
  const trimmed = text.trim();
  try {
    decodeShareBundle(trimmed);
  } catch {
    throw usage('that is not a share text (the base64url text "dkey phone share" prints)');
  }
  return withHome(o.home, async ({ phone }) => {
    const id = await phone.importShare(trimmed, name ?? 'shared car');
    return { vehicleId: toHex(id), grants: decodeShareBundle(trimmed).grants.length };
  });
}

/** The cars this phone knows. */
export function cars(o: PhoneOptions): Promise<Array<{ vehicleId: string; name: string; pendingGrants: number }>> {
  return withHome(o.home, async ({ phone }) =>
    (await phone.store.listVehicles()).map((v) => ({ vehicleId: toHex(v.vehicleId), name: v.name, pendingGrants: v.grants?.length ?? 0 })),
  );
}

/** Cars in BLE range: digital-key advertisements heard, nearest first (pseudonyms only: nothing identifies a car to strangers). */
export async function scan(o: PhoneOptions): Promise<Array<{ address: string; rssi: number | null; pseudonym: string }>> {
  if (!o.ble) throw usage('scan listens on Bluetooth: pass --ble (a socket names one car already)');
  const { loadNoble, scanForPairing } = await import('../ble/noble.js');
  const noble = loadNoble();
  const heard = await withProgress(o, 'scanning', () => scanForPairing({ noble, listenMs: timeoutMs({ ...o, timeout: o.timeout ?? '3000' }) }));
  return heard.map((c) => ({ address: c.peripheral.id, rssi: c.rssi, pseudonym: toHex(c.peripheral.advertisement.manufacturerData ?? new Uint8Array()) }));
}
