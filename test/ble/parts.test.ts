/**
 * The BLE adapters' small parts on their own: the info schema, the shared ChunkLink (send queue,
 * abort and failure semantics, reassembly), the backoff helper, and the load-failure sentences.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, isRetryable, withBackoff } from '../../src/ble/backoff.js';
import { ChunkLink } from '../../src/ble/chunk-link.js';
import { BleErrorCode } from '../../src/ble/codes.js';
import { GattOps } from '../../src/ble/gatt-op.js';
import { bleUnavailableError, explainAdapterState, explainLoadFailure, requireBle, waitPoweredOn } from '../../src/ble/load.js';
import { BleInfoSchema, MAX_BLE_INFO_BYTES, decodeBleInfo, encodeBleInfo } from '../../src/ble/profile.js';
import { AbortError, ProtocolError, TimeoutError, TransportError, UsageError } from '../../src/errors.js';
import { VirtualClock } from '../../src/transport/mock/virtual-clock.js';
import { fragment } from '../../src/wire/framing.js';
import { EventEmitter } from 'node:events';

/** Outcome of a promise, for asserting on rejections. */
function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

describe('info characteristic value', () => {
  it('round-trips and fits one ATT read at MTU 23 even at its largest', () => {
    const largest = { versions: [255, 254, 253, 252], maxMessageBytes: 4096, attMtu: 517 };
    const bytes = encodeBleInfo(largest);
    expect(bytes.length).toBeLessThanOrEqual(MAX_BLE_INFO_BYTES);
    expect(decodeBleInfo(bytes)).toEqual(largest);
    expect(Buffer.from(encodeBleInfo({ versions: [1], maxMessageBytes: 4096, attMtu: 23 })).toString('hex')).toBe('a3008101011910000217');
  });

  it('refuses every malformed or out-of-range value with ProtocolError BLE_BAD_INFO', () => {
    const table: Array<[string, string]> = [
      ['empty', ''],
      ['not a map', '80'],
      ['trailing byte', 'a3008101011910000217' + '00'],
      ['MTU 22', 'a3008101011910000216'],
      ['MTU 518', 'a30081010119100002190206'],
      ['no versions', 'a3008001191000021817'],
      ['missing MTU', 'a200810101191000'],
      ['unknown key', 'a4008101011910000217031817'],
      ['non-canonical MTU', 'a300810101191000021817'],
      ['message size 0', 'a30081010100021817'],
    ];
    for (const [name, hex] of table) {
      let error: unknown;
      try {
        decodeBleInfo(Uint8Array.from(Buffer.from(hex, 'hex')));
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).code, name).toBe(BleErrorCode.badInfo);
    }
  });

  it('never throws anything but ProtocolError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        try {
          const info = decodeBleInfo(bytes);
          expect(encodeBleInfo(info)).toEqual(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2_000 },
    );
    expect(BleInfoSchema.name).toBe('BleInfo');
  });
});

/** A ChunkLink whose chunks land in `written`; `gate` holds each write until released. */
function chunkLink(options: { mtu?: number; failWrite?: (i: number) => Error | null; hold?: boolean } = {}) {
  const clock = new VirtualClock(0);
  const written: Uint8Array[] = [];
  const held: Array<() => void> = [];
  const disconnects: string[] = [];
  const link = new ChunkLink({
    clock,
    mtu: options.mtu ?? 23,
    maxQueuedMessages: 2,
    writeChunk: (chunk) => {
      const i = written.length;
      written.push(chunk);
      const err = options.failWrite?.(i) ?? null;
      if (err !== null) return Promise.reject(err);
      if (options.hold !== true) return Promise.resolve();
      return new Promise<void>((resolve) => held.push(resolve));
    },
    disconnect: (info) => disconnects.push(info.reason),
  });
  const release = async (): Promise<void> => {
    while (held.length > 0) {
      held.shift()!();
      await clock.advance(0);
    }
  };
  return { clock, link, written, disconnects, release };
}

describe('ChunkLink', () => {
  it('refuses an MTU outside [23, 517] and malformed options', () => {
    const base = { clock: new VirtualClock(), writeChunk: async () => {}, disconnect: () => {} };
    for (const mtu of [22, 518, 23.5, Number.NaN]) expect(() => new ChunkLink({ ...base, mtu })).toThrow(UsageError);
    expect(() => new ChunkLink({ ...base, mtu: 23, maxQueuedMessages: 0 })).toThrow(UsageError);
    expect(() => new ChunkLink({ ...base, mtu: 23, maxSendBytes: 70_000 })).toThrow(UsageError);
  });

  it('cuts messages at mtu − 3 with the shared fragmenter', async () => {
    const { link, written, clock } = chunkLink({ mtu: 23 });
    const message = new Uint8Array(100).map((_, i) => i);
    await clock.runUntilSettled(link.send(message));
    expect(written).toEqual(fragment(message, 20));
    expect(link.stats).toMatchObject({ messagesSent: 1, chunksSent: 6 });
  });

  it('a send given up before its first chunk left puts nothing on the air', async () => {
    const { link, written, clock, release } = chunkLink({ hold: true });
    const first = settle(link.send(new Uint8Array(30).fill(1)));
    const controller = new AbortController();
    const second = settle(link.send(new Uint8Array(30).fill(2), { signal: controller.signal }));
    const third = settle(link.send(new Uint8Array(5).fill(3)));
    controller.abort();
    await release();
    await clock.runUntilSettled(Promise.all([first, second, third]));
    expect((await second).ok).toBe(false);
    expect(((await second) as { error: unknown }).error).toBeInstanceOf(AbortError);
    expect(written.map((c) => c[2] ?? c[0])).toEqual([1, 1, 3]);
  });

  it('a send aborted mid-message still finishes its chunks (the peer’s framing stays aligned)', async () => {
    const { link, written, clock, release } = chunkLink({ hold: true });
    const controller = new AbortController();
    const sending = settle(link.send(new Uint8Array(100).fill(7), { signal: controller.signal }));
    await clock.advance(0);
    expect(written).toHaveLength(1);
    controller.abort();
    const outcome = await sending;
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: AbortError }).error.mayHaveSucceeded).toBe(true);
    await release();
    expect(written).toHaveLength(6);
    expect(link.isClosed).toBe(false);
  });

  it('a failed GATT write fails the link: the send on the air gets the cause, queued sends LINK_CLOSED, the radio is dropped once', async () => {
    const cause = new TimeoutError(BleErrorCode.gattTimeout, 'no answer', { mayHaveSucceeded: true });
    const { link, clock, disconnects } = chunkLink({ failWrite: (i) => (i === 2 ? cause : null) });
    const onAir = settle(link.send(new Uint8Array(100)));
    const queued = settle(link.send(new Uint8Array(10)));
    const receiving = settle(link.receive());
    await clock.runUntilSettled(Promise.all([onAir, queued, receiving]));
    expect(await onAir).toEqual({ ok: false, error: cause });
    expect(((await queued) as { error: TransportError }).error.code).toBe('LINK_CLOSED');
    expect(((await queued) as { error: TransportError }).error.mayHaveSucceeded).toBe(false);
    expect(((await receiving) as { error: TransportError }).error.code).toBe('LINK_CLOSED');
    expect(link.closeInfo).toEqual({ by: 'error', reason: 'a GATT write failed' });
    expect(disconnects).toEqual(['a GATT write failed']);
  });

  it('close() drops the radio once; a transport close does not call back into it', async () => {
    const a = chunkLink();
    await a.link.close('bye');
    await a.link.close('again');
    expect(a.disconnects).toEqual(['bye']);
    const b = chunkLink();
    b.link.transportClosed({ by: 'remote', reason: 'peer left' });
    await b.link.close();
    expect(b.disconnects).toEqual([]);
    expect(b.link.closeInfo).toEqual({ by: 'remote', reason: 'peer left' });
  });

  it('reassembles, drops a stale partial after the inter-chunk timeout, and fails on queue overflow', async () => {
    const { link, clock } = chunkLink({ mtu: 23 });
    const [head] = fragment(new Uint8Array(50).fill(9), 20);
    link.deliverChunk(head!);
    await clock.advance(2_001);
    expect(link.stats.framingErrors).toBe(1);
    for (let i = 0; i < 2; i++) for (const c of fragment(Uint8Array.of(i + 1), 20)) link.deliverChunk(c);
    expect(await link.receive()).toEqual(Uint8Array.of(1));
    expect(await link.receive()).toEqual(Uint8Array.of(2));
    for (let i = 0; i < 3; i++) for (const c of fragment(Uint8Array.of(i), 20)) link.deliverChunk(c);
    expect(link.closeInfo?.by).toBe('error');
    expect(clock.pendingTimers).toBe(0);
  });

  it('a chunk longer than mtu − 3 or garbage is a counted framing error, not a crash', () => {
    const { link } = chunkLink({ mtu: 23 });
    link.deliverChunk(new Uint8Array(21));
    link.deliverChunk(Uint8Array.of(0, 0));
    link.deliverChunk(new Uint8Array(0));
    expect(link.stats.framingErrors).toBe(3);
    expect(link.isClosed).toBe(false);
  });
});

describe('GattOps', () => {
  it('times out, rejects everything pending on failAll, and runs each cleanup exactly once', async () => {
    const clock = new VirtualClock(0);
    const ops = new GattOps(clock);
    let cleanups = 0;
    const slow = settle(ops.run({ name: 'read', timeoutMs: 100 }, () => () => cleanups++));
    const stuck = settle(ops.run({ name: 'write', timeoutMs: 10_000, mayHaveSucceeded: true }, () => () => cleanups++));
    await clock.advance(100);
    const timedOut = await slow;
    expect((timedOut as { error: TimeoutError }).error.code).toBe(BleErrorCode.gattTimeout);
    const gone = new TransportError('LINK_CLOSED', 'gone');
    ops.failAll(gone);
    expect(await stuck).toEqual({ ok: false, error: gone });
    expect(await settle(ops.run({ name: 'late', timeoutMs: 1 }, () => () => cleanups++))).toEqual({ ok: false, error: gone });
    expect(cleanups).toBe(2);
    expect(ops.pending).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a start that throws becomes TransportError BLE_GATT_FAILED', async () => {
    const ops = new GattOps(new VirtualClock(0));
    const outcome = await settle(
      ops.run({ name: 'write', timeoutMs: 100 }, () => {
        throw new TypeError('data must be a Buffer');
      }),
    );
    expect((outcome as { error: TransportError }).error.code).toBe(BleErrorCode.gattFailed);
  });
});

describe('withBackoff', () => {
  it('waits 250, 500, 1000, 2000, 4000, 4000 ms without jitter, and less with it', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, { jitter: 0 }))).toEqual([250, 500, 1000, 2000, 4000, 4000]);
    expect(backoffDelayMs(2, { jitter: 0.2, random: () => 0.5 })).toBe(450);
    expect(backoffDelayMs(2, { jitter: 0.2, random: () => Number.NaN })).toBe(500);
  });

  it('retries retryable failures that cannot have run a command, and nothing else', async () => {
    const clock = new VirtualClock(0);
    const retryable = new TransportError('X', 'dropped');
    const maybeRan = new TransportError('X', 'dropped after send', { mayHaveSucceeded: true });
    const usage = new UsageError('X', 'bug');
    expect([retryable, maybeRan, usage, new Error('x')].map(isRetryable)).toEqual([true, false, false, false]);
    let n = 0;
    const value = await clock.runUntilSettled(
      withBackoff(
        async () => {
          if (++n < 3) throw retryable;
          return 'ok';
        },
        { clock, jitter: 0 },
      ),
    );
    expect([value, n, clock.now()]).toEqual(['ok', 3, 750]);
    for (const error of [maybeRan, usage]) {
      let calls = 0;
      const outcome = await settle(clock.runUntilSettled(withBackoff(async () => ((calls += 1), Promise.reject(error)), { clock })));
      expect([outcome, calls]).toEqual([{ ok: false, error }, 1]);
    }
    let calls = 0;
    const exhausted = await settle(clock.runUntilSettled(withBackoff(async () => ((calls += 1), Promise.reject(retryable)), { clock, attempts: 3 })));
    expect([exhausted, calls]).toEqual([{ ok: false, error: retryable }, 3]);
  });

  it('an abort during a wait rejects with AbortError; bad options are UsageError', async () => {
    const clock = new VirtualClock(0);
    const controller = new AbortController();
    const running = settle(withBackoff(async () => Promise.reject(new TransportError('X', 'x')), { clock, signal: controller.signal }));
    await clock.advance(100);
    controller.abort();
    expect(((await running) as { error: unknown }).error).toBeInstanceOf(AbortError);
    for (const bad of [{ attempts: 0 }, { factor: 0.5 }, { jitter: 2 }, { initialDelayMs: -1 }, { maxDelayMs: 10 }]) {
      await expect(withBackoff(async () => 1, { clock, ...bad })).rejects.toBeInstanceOf(UsageError);
    }
  });
});

describe('load failures and adapter states', () => {
  const err = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });
  const cases: Array<[string, Error, RegExp]> = [
    ['no Bluetooth', err('EAFNOSUPPORT', 'EAFNOSUPPORT, Address family not supported by protocol'), /not available on this machine/],
    ['no permission', err('EPERM'), /setcap/],
    ['no permission (EACCES)', err('EACCES'), /sudo/],
    ['no adapter', err('ENODEV'), /No Bluetooth adapter/],
    ['busy adapter', err('EBUSY'), /systemctl stop bluetooth/],
    ['package missing', err('MODULE_NOT_FOUND', "Cannot find module '@abandonware/noble'\nRequire stack: ..."), /npm install @abandonware\/noble/],
    ['native part missing', err('MODULE_NOT_FOUND', "Cannot find module '@abandonware/bluetooth-hci-socket'"), /npm rebuild @abandonware\/noble/],
    ['native build for another Node', new Error('The module was compiled against a different Node.js version'), /npm rebuild/],
    ['anything else', err('EIO', 'boom'), /failed to start \(EIO\)/],
  ];

  it.each(cases)('%s: one sentence, what is missing and how to fix it on Linux and macOS', (_name, cause, pattern) => {
    const text = explainLoadFailure('@abandonware/noble', cause);
    expect(text).toMatch(pattern);
    expect(text).toMatch(/Linux/);
    expect(text).toMatch(/macOS/);
    expect(text).not.toMatch(/\n/);
    expect(text).not.toMatch(/\.\s+[A-Z]/);
    const error = bleUnavailableError('@abandonware/noble', cause);
    expect([error.code, error.retryable, error.message]).toEqual([BleErrorCode.unavailable, false, text]);
  });

  it('every adapter state has its sentence', () => {
    for (const [state, pattern] of [
      ['poweredOff', /turned off/],
      ['unauthorized', /permission/],
      ['unsupported', /does not support Bluetooth LE/],
      ['resetting', /did not become ready/],
    ] as const) {
      expect(explainAdapterState(state)).toMatch(pattern);
    }
  });

  it('requireBle maps a missing file to TransportError BLE_UNAVAILABLE', () => {
    expect(() => requireBle('@abandonware/noble', '@abandonware/noble/does-not-exist.js')).toThrow(TransportError);
  });

  it('waitPoweredOn: a stack that throws on start is BLE_UNAVAILABLE; a stuck one times out; an off one fails at once', async () => {
    const clock = new VirtualClock(0);
    // noble starts its HCI stack on the first read of `state`: make that throw.
    const throwing = Object.defineProperty(new EventEmitter(), 'state', {
      get(): string {
        throw err('EAFNOSUPPORT');
      },
    }) as EventEmitter & { readonly state: string };
    const e1 = await settle(waitPoweredOn('@abandonware/noble', throwing, clock, 1_000));
    expect((e1 as { error: TransportError }).error.code).toBe(BleErrorCode.unavailable);

    const stuck = Object.assign(new EventEmitter(), { state: 'unknown' });
    const e2 = settle(clock.runUntilSettled(waitPoweredOn('@abandonware/bleno', stuck, clock, 1_000)));
    expect(((await e2) as { error: TransportError }).error.code).toBe(BleErrorCode.adapterState);
    expect(clock.now()).toBe(1_000);
    expect(stuck.listenerCount('stateChange')).toBe(0);

    const later = Object.assign(new EventEmitter(), { state: 'unknown' });
    const ready = waitPoweredOn('@abandonware/bleno', later, clock, 1_000);
    later.state = 'poweredOff';
    later.emit('stateChange', 'poweredOff');
    const e3 = await settle(ready);
    expect((e3 as { error: TransportError }).error.message).toMatch(/turned off/);
    expect(clock.pendingTimers).toBe(0);
  });
});
