/**
 * The loopback socket link against the Link conformance suite, over a real unix socket and real
 * TCP on 127.0.0.1 (both ends in this process; the CLI tests cross processes), plus what only a
 * socket can get wrong: the MTU hello, a hostile chunk length, a stale socket file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TransportError } from '../../src/errors.js';
import { connectSocketLink, listenSocketLinks, type SocketAddress, type SocketLink } from '../../src/link/socket.js';
import type { Link } from '../../src/transport/link.js';
import { capture, describeLinkConformance, expectRejected, patternMessage, type LinkPairHarness } from '../transport/link-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'dk-socket-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

/** A connected pair over a fresh server; `a` is the client (phone), `b` the server side (vehicle). */
async function pair(address: SocketAddress, mtus: { client?: number; server?: number } = {}): Promise<LinkPairHarness & { server: { close(): Promise<void> } }> {
  let accept!: (l: SocketLink) => void;
  const accepted = new Promise<SocketLink>((r) => (accept = r));
  const server = await listenSocketLinks(address, (l) => accept(l), { mtu: mtus.server ?? 185 });
  const a = await connectSocketLink(server.address, { mtu: mtus.client ?? 185 });
  const b = await accepted;
  const waitClosed = (l: Link) => new Promise<void>((r) => l.onClose(() => r()));
  return {
    a,
    b,
    server,
    run: (p) => p,
    async disconnect() {
      // Radio loss: the server drops its sockets with no goodbye (no FIN-then-close handshake).
      await server.close();
      await Promise.all([waitClosed(a), waitClosed(b)]);
    },
    async teardown() {
      await a.close();
      await b.close();
      await server.close();
    },
  };
}

describeLinkConformance('socket link, unix socket, MTU 185', () => pair({ path: join(dir, `s${counter++}.sock`) }));
describeLinkConformance('socket link, TCP 127.0.0.1, MTU 23', () => pair({ port: 0 }, { client: 23, server: 23 }));

describe('socket link specifics', () => {
  it('agrees on the smaller MTU of the two ends', async () => {
    const h = await pair({ path: join(dir, `m${counter++}.sock`) }, { client: 247, server: 100 });
    expect([h.a.mtu, h.b.mtu]).toEqual([100, 100]);
    await h.teardown();
  });

  it('refuses to connect where nothing listens, in one sentence', async () => {
    const outcome = await capture(connectSocketLink({ path: join(dir, 'nobody.sock') }));
    const error = expectRejected(outcome, TransportError, 'LINK_CONNECT_FAILED');
    expect(error.message).toMatch(/nothing is listening/);
  });

  it('fails the link on a chunk longer than the MTU allows, and the server survives', async () => {
    const path = join(dir, `h${counter++}.sock`);
    const links: SocketLink[] = [];
    const server = await listenSocketLinks({ path }, (l) => links.push(l), { mtu: 23 });
    const raw = net.connect(path);
    await new Promise((r) => raw.once('connect', r));
    raw.write(Buffer.from([0x44, 0x4b, 0, 23]));
    await new Promise((r) => setTimeout(r, 50));
    expect(links).toHaveLength(1);
    const closed = new Promise((r) => links[0]!.onClose(r));
    raw.write(Buffer.from([0, 200, ...new Uint8Array(200)]));
    expect(await closed).toMatchObject({ by: 'error' });
    raw.destroy();
    // The next honest client is served as usual.
    const ok = await connectSocketLink({ path }, { mtu: 23 });
    await new Promise((r) => setTimeout(r, 20));
    const got = capture(links[1]!.receive());
    await ok.send(patternMessage(50, 1));
    expect(await got).toEqual({ ok: true, value: patternMessage(50, 1) });
    await ok.close();
    await server.close();
  });

  it('drops a connection that does not speak the hello', async () => {
    const path = join(dir, `b${counter++}.sock`);
    const errors: Error[] = [];
    const server = await listenSocketLinks({ path }, () => undefined, { onError: (e) => errors.push(e) });
    const raw = net.connect(path);
    await new Promise((r) => raw.once('connect', r));
    raw.write('GET / HTTP/1.1\r\n');
    await new Promise((r) => raw.once('close', r));
    expect(errors[0]).toBeInstanceOf(TransportError);
    await server.close();
  });

  it('replaces a stale socket file but refuses a path a live server holds or a plain file', async () => {
    const path = join(dir, `st${counter++}.sock`);
    const first = await listenSocketLinks({ path }, () => undefined);
    expectRejected(await capture(listenSocketLinks({ path }, () => undefined)), TransportError, 'LINK_ADDRESS_IN_USE');
    await first.close();
    // A crashed server leaves its socket file: simulate with a bound-then-abandoned one.
    const stale = net.createServer().listen(path);
    await new Promise((r) => stale.once('listening', r));
    (stale as unknown as { _handle: { close(): void } | null })._handle?.close();
    const second = await listenSocketLinks({ path }, () => undefined);
    await second.close();
    const file = join(dir, `f${counter++}`);
    writeFileSync(file, 'not a socket');
    expectRejected(await capture(listenSocketLinks({ path: file }, () => undefined)), TransportError, 'LINK_ADDRESS_IN_USE');
  });
});
