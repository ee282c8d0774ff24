/**
 * The daemon's control socket: a unix socket, mode 0600, carrying one JSON request per line
 * and one JSON answer per line. Only the daemon's user can connect, and local access to the
 * module stands for the physical action the admin operations require.
 *
 * `{"op":"audit-follow"}` turns the connection into a stream of audit events, one per line,
 * until the client hangs up.
 */
import fs from 'node:fs';
import net from 'node:net';
import type { AuditEvent } from '../vehicle/store.js';
import type { Vehicle } from '../vehicle/vehicle.js';
import { runAdmin, auditView, type AdminRequest } from './admin.js';
import { CliError, EXIT, explain } from './errors.js';

/** Longest request line accepted, bytes. */
const MAX_LINE = 4096;

/** Starts the control server at `path`; resolves once it listens with mode 0600. */
export async function startControlServer(path: string, vehicle: Vehicle): Promise<{ close(): Promise<void> }> {
  const clients = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    clients.add(socket);
    socket.on('close', () => clients.delete(socket));
    socket.on('error', () => undefined);
    let buf = '';
    socket.on('data', (data) => {
      buf += data.toString('utf8');
      if (buf.length > MAX_LINE) return void socket.destroy();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        void answer(socket, line, vehicle);
      }
    });
  });
  await removeStale(path);
  const oldMask = process.umask(0o177); // the socket file is born 0600: no window where others can connect
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  } catch (e) {
    throw new CliError(EXIT.unreachable, `cannot open the control socket ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  } finally {
    process.umask(oldMask);
  }
  fs.chmodSync(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.destroy();
        server.close(() => resolve());
      }),
  };
}

async function answer(socket: net.Socket, line: string, vehicle: Vehicle): Promise<void> {
  let req: AdminRequest | { op: 'audit-follow' };
  try {
    req = JSON.parse(line) as AdminRequest | { op: 'audit-follow' };
  } catch {
    return reply(socket, { ok: false, exitCode: EXIT.usage, error: 'The control request is not JSON.' });
  }
  if (req.op === 'audit-follow') {
    const off = vehicle.onAudit((e: AuditEvent) => socket.write(`${JSON.stringify({ event: auditView(e) })}\n`));
    socket.on('close', off);
    return reply(socket, { ok: true, result: 'following' });
  }
  try {
    reply(socket, { ok: true, result: await runAdmin(vehicle, req, true) });
  } catch (e) {
    const { exitCode, message } = explain(e);
    reply(socket, { ok: false, exitCode, error: message });
  }
}

function reply(socket: net.Socket, value: unknown): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(value)}\n`);
}

/** Removes a control socket left by a daemon that died; refuses one a live daemon answers on. */
async function removeStale(path: string): Promise<void> {
  if (!fs.existsSync(path)) return;
  if (await canConnect(path)) throw new CliError(EXIT.store, `a daemon is already running for this store (control socket ${path})`);
  fs.unlinkSync(path);
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** An open client connection to a daemon's control socket. */
export interface ControlClient {
  /** Sends one request and resolves with its result; a refusal rejects with a CliError. */
  request(req: AdminRequest | { op: 'audit-follow' }): Promise<unknown>;
  /** Calls `onEvent` for every audit event streamed after `audit-follow`. */
  onEvent(onEvent: (e: Record<string, unknown>) => void): void;
  /** Resolves when the daemon hangs up. */
  readonly closed: Promise<void>;
  close(): void;
}

/** Connects to a control socket, or resolves null when no daemon listens there. */
export async function connectControl(path: string): Promise<ControlClient | null> {
  if (!fs.existsSync(path)) return null;
  const socket = await new Promise<net.Socket | null>((resolve, reject) => {
    const s = net.connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', (e: NodeJS.ErrnoException) => {
      // A socket file nobody answers on is a daemon that died: the caller falls back to the store.
      if (e.code === 'EACCES') reject(new CliError(EXIT.store, `no permission to use the control socket ${path}: run dkey as the daemon's user`));
      else resolve(null);
    });
  });
  if (socket === null) return null;
  const waiting: Array<{ resolve(v: unknown): void; reject(e: Error): void }> = [];
  let listener: ((e: Record<string, unknown>) => void) | null = null;
  let buf = '';
  socket.on('data', (data) => {
    buf += data.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const msg = JSON.parse(buf.slice(0, nl)) as { ok?: boolean; result?: unknown; error?: string; exitCode?: number; event?: Record<string, unknown> };
      buf = buf.slice(nl + 1);
      if (msg.event !== undefined) listener?.(msg.event);
      else if (msg.ok === true) waiting.shift()?.resolve(msg.result);
      else waiting.shift()?.reject(new CliError(msg.exitCode ?? EXIT.internal, msg.error ?? 'the daemon refused'));
    }
  });
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      for (const w of waiting.splice(0)) w.reject(new CliError(EXIT.unreachable, 'the daemon closed the control connection'));
      resolve();
    }),
  );
  socket.on('error', () => undefined);
  return {
    request: (req) =>
      new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        socket.write(`${JSON.stringify(req)}\n`);
      }),
    onEvent: (f) => void (listener = f),
    closed,
    close: () => void socket.end(),
  };
}
