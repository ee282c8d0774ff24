/**
 * The loopback link: a real cross-process {@link Link} over a unix socket or TCP on 127.0.0.1,
 * framed exactly like GATT (chunks of `mtu − 3` bytes, docs/WIRE.md) so that everything above
 * the radio runs as it would over BLE. `dkey vehicle serve --socket` and `dkey phone … --socket`
 * use it to try both sides on one machine with no radio. Node-only (`node:net`).
 *
 * On the stream each chunk travels as a 2-byte big-endian length and the chunk's bytes. A
 * connection opens with a 4-byte hello each way, "DK" and a 16-bit MTU: the client offers its
 * MTU, the server answers with the smaller of the two, and both ends frame with that one, as an
 * ATT MTU exchange would. Everything a Link promises (queues, timeouts, abort, close) is
 * {@link ChunkLink}'s, shared with the BLE adapters.
 */
import net from 'node:net';
import fs from 'node:fs';
import { ATT_HEADER_BYTES, DEFAULT_ATT_MTU, MAX_ATT_MTU } from '../constants.js';
import { TransportError, UsageError } from '../errors.js';
import { ChunkLink, type BleLink } from '../ble/chunk-link.js';
import { systemClock, type Clock } from '../transport/clock.js';
import type { LinkCloseInfo } from '../transport/link.js';

/** The MTU a socket link offers unless told otherwise: a typical phone's negotiated ATT MTU. */
export const DEFAULT_SOCKET_MTU = 185;
/** How long a connection may take to say hello, ms. */
export const SOCKET_HELLO_TIMEOUT_MS = 5_000;

const HELLO = [0x44, 0x4b]; // "DK"
const HELLO_BYTES = 4;
const LENGTH_BYTES = 2;

/** Where a socket link listens or connects: a unix socket path, or a TCP port on 127.0.0.1. */
export type SocketAddress = { path: string } | { port: number; host?: string };

/** Options shared by both ends. */
export interface SocketLinkOptions {
  /** ATT MTU to offer, in [23, 517]; default {@link DEFAULT_SOCKET_MTU}. */
  mtu?: number;
  /** Clock for the link's timeouts; default the system clock. */
  clock?: Clock;
}

/** A socket link with its counters (the same shape as a BLE link's). */
export type SocketLink = BleLink;

/** A listening server; `close` stops accepting and closes the links it handed out. */
export interface SocketLinkServer {
  /** The bound address (the TCP port is filled in when 0 was asked). */
  readonly address: SocketAddress;
  close(): Promise<void>;
}

function checkMtu(mtu: unknown): number {
  const value = mtu ?? DEFAULT_SOCKET_MTU;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < DEFAULT_ATT_MTU || value > MAX_ATT_MTU) {
    throw new UsageError('LINK_BAD_OPTIONS', `"mtu" must be an integer in [${DEFAULT_ATT_MTU}, ${MAX_ATT_MTU}]`);
  }
  return value;
}

function hello(mtu: number): Buffer {
  return Buffer.from([...HELLO, mtu >> 8, mtu & 0xff]);
}

/** Reads the peer's hello, or fails after SOCKET_HELLO_TIMEOUT_MS or on a bad one. */
function readHello(socket: net.Socket): Promise<{ mtu: number; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const done = (err: Error | null, value?: { mtu: number; rest: Buffer }): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('close', onClose).off('error', onError);
      if (err) reject(err);
      else resolve(value!);
    };
    const onData = (data: Buffer): void => {
      buf = Buffer.concat([buf, data]);
      if (buf.length < HELLO_BYTES) return;
      const mtu = buf.readUInt16BE(2);
      if (buf[0] !== HELLO[0] || buf[1] !== HELLO[1] || mtu < DEFAULT_ATT_MTU || mtu > MAX_ATT_MTU) {
        done(new TransportError('LINK_BAD_PEER', 'the peer is not a digital-key socket link'));
      } else done(null, { mtu, rest: buf.subarray(HELLO_BYTES) });
    };
    const onClose = (): void => done(new TransportError('LINK_CLOSED', 'the peer closed the connection before its hello'));
    const onError = (e: Error): void => done(new TransportError('LINK_CONNECT_FAILED', `socket error: ${e.message}`, { cause: e }));
    const timer = setTimeout(() => done(new TransportError('LINK_TIMEOUT', 'the peer sent no hello in time')), SOCKET_HELLO_TIMEOUT_MS);
    socket.on('data', onData).on('close', onClose).on('error', onError);
  });
}

/** Wraps a connected socket, hello done, in a ChunkLink; `rest` is what followed the hello. */
function wrap(socket: net.Socket, mtu: number, clock: Clock, rest: Buffer): SocketLink {
  const maxChunk = mtu - ATT_HEADER_BYTES;
  let buf: Buffer = Buffer.alloc(0);
  const link: ChunkLink = new ChunkLink({
    clock,
    mtu,
    writeChunk: (chunk) =>
      new Promise<void>((resolve, reject) => {
        const header = Buffer.alloc(LENGTH_BYTES);
        header.writeUInt16BE(chunk.length);
        socket.write(Buffer.concat([header, chunk]), (err) => (err ? reject(err) : resolve()));
      }),
    // A clean close ends the stream (what was written still arrives); a failure drops it.
    disconnect: (info: LinkCloseInfo) => (info.by === 'local' ? socket.end() : socket.destroy()),
  });
  const onData = (data: Buffer): void => {
    buf = buf.length === 0 ? data : Buffer.concat([buf, data]);
    while (buf.length >= LENGTH_BYTES && !link.isClosed) {
      const n = buf.readUInt16BE(0);
      // Unlike a lost GATT chunk, a bad length leaves the stream unreadable: fail the link.
      if (n === 0 || n > maxChunk) return link.fail(`the peer sent a ${n}-byte chunk; at most ${maxChunk} fit the MTU`);
      if (buf.length < LENGTH_BYTES + n) return;
      link.deliverChunk(new Uint8Array(buf.subarray(LENGTH_BYTES, LENGTH_BYTES + n)));
      buf = buf.subarray(LENGTH_BYTES + n);
    }
  };
  socket.on('data', onData);
  socket.on('error', (e) => link.fail(`socket error: ${e.message}`, e));
  socket.on('end', () => link.transportClosed({ by: 'remote', reason: 'the peer closed the connection' }));
  socket.on('close', () => link.transportClosed({ by: 'remote', reason: 'the connection was lost' }));
  socket.setNoDelay(true);
  if (rest.length > 0) onData(rest);
  return link;
}

function describe(address: SocketAddress): string {
  return 'path' in address ? address.path : `${address.host ?? '127.0.0.1'}:${address.port}`;
}

/**
 * Connects to a socket-link server and returns the link once the MTU is agreed.
 * @throws TransportError `LINK_CONNECT_FAILED` (nothing listens there), `LINK_TIMEOUT`, `LINK_BAD_PEER`.
 */
export async function connectSocketLink(address: SocketAddress, options: SocketLinkOptions = {}): Promise<SocketLink> {
  const mtu = checkMtu(options.mtu);
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = 'path' in address ? net.connect(address.path) : net.connect(address.port, address.host ?? '127.0.0.1');
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (e: NodeJS.ErrnoException) =>
      reject(new TransportError('LINK_CONNECT_FAILED', `nothing is listening at ${describe(address)} (${e.code ?? e.message})`, { cause: e })),
    );
  });
  socket.write(hello(mtu));
  try {
    const reply = await readHello(socket);
    return wrap(socket, Math.min(mtu, reply.mtu), options.clock ?? systemClock, reply.rest);
  } catch (e) {
    socket.destroy();
    throw e;
  }
}

/**
 * Listens for socket links and hands each connection's link to `onLink` (e.g.
 * `(link) => vehicle.serve(link)`). A unix socket path left behind by a dead server is replaced;
 * one a live server holds is refused with TransportError `LINK_ADDRESS_IN_USE`.
 */
export async function listenSocketLinks(
  address: SocketAddress,
  onLink: (link: SocketLink) => void,
  options: SocketLinkOptions & { onError?: (error: Error) => void } = {},
): Promise<SocketLinkServer> {
  const mtu = checkMtu(options.mtu);
  const clock = options.clock ?? systemClock;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // reported through the link, or the hello below
    readHello(socket).then(
      ({ mtu: offered, rest }) => {
        const agreed = Math.min(mtu, offered);
        socket.write(hello(agreed));
        onLink(wrap(socket, agreed, clock, rest));
      },
      (e: Error) => {
        socket.destroy();
        options.onError?.(e);
      },
    );
  });
  if ('path' in address) await removeStaleSocket(address.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const ready = (): void => {
      server.off('error', reject);
      resolve();
    };
    if ('path' in address) server.listen(address.path, ready);
    else server.listen(address.port, address.host ?? '127.0.0.1', ready);
  }).catch((e: NodeJS.ErrnoException) => {
    throw new TransportError('LINK_ADDRESS_IN_USE', `cannot listen at ${describe(address)} (${e.code ?? e.message})`, { cause: e });
  });
  const bound = server.address();
  const actual: SocketAddress = 'path' in address ? address : { port: typeof bound === 'object' && bound ? bound.port : address.port, host: address.host ?? '127.0.0.1' };
  return {
    address: actual,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Removes a unix socket file no live server answers on (a crashed daemon's leftover). */
async function removeStaleSocket(path: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new TransportError('LINK_ADDRESS_IN_USE', `${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new TransportError('LINK_ADDRESS_IN_USE', `another process is already listening at ${path}`);
  fs.unlinkSync(path);
}
