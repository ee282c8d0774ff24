/**
 * `dkey doctor`: checks what a key module or a laptop phone needs, and gives each problem its
 * one-sentence fix: Node version, the BLE packages and whether they load, the adapter
 * permissions (root or the two capabilities), a running bluetoothd (which takes the adapter
 * from a bleno peripheral), macOS privacy, and the store / home permissions.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { explainLoadFailure, type BlePackage } from '../ble/load.js';
import { loadBetterSqlite3, loadNodeSqlite, NO_SQLITE_DRIVER } from '../store/sqlite/driver.js';
import { CliError, EXIT } from './errors.js';
import { LEGACY_DIR } from './migrate.js';
import { checkOwnDir, storeFile } from './store.js';

/** One check's verdict. */
export interface Check {
  name: string;
  ok: boolean;
  /** What was found (ok) or the one-sentence fix (not ok). */
  detail: string;
  /** A failed check that does not stop the CLI's loopback use (e.g. no Bluetooth). */
  optional?: boolean;
}

const requireCjs = createRequire(import.meta.url);
const CAP_NET_ADMIN = 12;
const CAP_NET_RAW = 13;

function nodeCheck(): Check {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const ok = major > 20 || (major === 20 && minor >= 19);
  return { name: 'node', ok, detail: ok ? `Node ${process.versions.node}` : `Node ${process.versions.node} is too old: install Node 20.19 or later.` };
}

function packageCheck(pkg: BlePackage): Check {
  try {
    requireCjs.resolve(pkg);
  } catch (e) {
    return { name: pkg, ok: false, optional: true, detail: explainLoadFailure(pkg, e) };
  }
  try {
    requireCjs(pkg);
    return { name: pkg, ok: true, detail: 'installed and loads (an adapter answered)' };
  } catch (e) {
    return { name: pkg, ok: false, optional: true, detail: explainLoadFailure(pkg, e) };
  }
}

/** Effective capabilities of this process, from /proc (Linux). */
function capabilities(): bigint | null {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : null;
  } catch {
    return null;
  }
}

function permissionCheck(): Check {
  if (process.platform === 'darwin') {
    return { name: 'permissions', ok: true, optional: true, detail: 'macOS: allow your terminal under System Settings › Privacy & Security › Bluetooth the first time it asks.' };
  }
  const caps = capabilities();
  const has = (bit: number) => caps !== null && (caps & (1n << BigInt(bit))) !== 0n;
  const ok = process.getuid?.() === 0 || (has(CAP_NET_ADMIN) && has(CAP_NET_RAW));
  return {
    name: 'permissions',
    ok,
    optional: true,
    detail: ok
      ? 'this process may open the HCI socket (root or CAP_NET_RAW + CAP_NET_ADMIN)'
      : 'No permission to open the Bluetooth HCI socket: grant it once with "sudo setcap cap_net_raw,cap_net_admin+eip $(readlink -f $(which node))" or run the systemd unit (examples/dkey-vehicle.service).',
  };
}

/** Whether a process named `name` runs (Linux /proc). */
function running(name: string): boolean {
  try {
    return fs.readdirSync('/proc').some((pid) => {
      if (!/^\d+$/.test(pid)) return false;
      try {
        return fs.readFileSync(path.join('/proc', pid, 'comm'), 'utf8').trim() === name;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

function bluetoothdCheck(): Check {
  if (process.platform !== 'linux') return { name: 'bluetoothd', ok: true, optional: true, detail: 'not Linux: nothing to check' };
  const up = running('bluetoothd');
  return {
    name: 'bluetoothd',
    ok: !up,
    optional: true,
    detail: up
      ? 'bluetoothd is running and will fight a bleno peripheral for the adapter: stop it for "dkey vehicle serve --ble" with "sudo systemctl stop bluetooth" (a phone with --ble needs no change).'
      : 'not running (good for a bleno peripheral; noble works either way)',
  };
}

/** The key module's store needs a SQLite driver: better-sqlite3, or node:sqlite on Node 22.13+. */
function sqliteCheck(): Check {
  if (loadBetterSqlite3().ctor) return { name: 'sqlite', ok: true, detail: 'better-sqlite3 loads' };
  if (loadNodeSqlite()) return { name: 'sqlite', ok: true, detail: 'node:sqlite is built in' };
  return { name: 'sqlite', ok: false, detail: NO_SQLITE_DRIVER };
}

function dirCheck(name: string, dir: string): Check {
  try {
    checkOwnDir(dir, name === 'store' ? 'vehicle store' : 'phone home', false);
    const ok = { name, ok: true, detail: `${path.resolve(dir)} is yours and closed to others` };
    return name === 'store' ? { ...ok, detail: ok.detail + storeFiles(dir) } : ok;
  } catch (e) {
    return { name, ok: false, detail: e instanceof CliError ? e.message : String(e) };
  }
}

/** What the store directory holds, for the store check's detail. */
function storeFiles(dir: string): string {
  const file = storeFile(dir);
  if (fs.existsSync(file)) {
    const st = fs.statSync(file);
    if ((st.mode & 0o077) !== 0) throw new CliError(EXIT.store, `the store file ${file} is open to other users (mode ${(st.mode & 0o777).toString(8)}): run "chmod 600 ${file}"`);
    return `; SQLite store ${file}`;
  }
  if (fs.existsSync(path.join(path.resolve(dir), LEGACY_DIR))) return '; a file-vault store that the next "dkey vehicle" command moves to SQLite (keeping the old files)';
  return '; no store yet: "dkey vehicle init" makes it';
}

/** Runs every check; `store` / `home` add the directory checks. */
export function doctor(options: { store?: string; home?: string }): Check[] {
  const checks = [nodeCheck(), packageCheck('@abandonware/noble'), packageCheck('@abandonware/bleno'), permissionCheck(), bluetoothdCheck()];
  if (options.store !== undefined) checks.push(sqliteCheck(), dirCheck('store', options.store));
  if (options.home !== undefined) checks.push(dirCheck('home', options.home));
  return checks;
}
