/**
 * The Link conformance suite: behaviour every {@link Link} implementation must show, whatever
 * carries the bytes (the mock, noble, bleno). docs/TRANSPORT.md §Link contract.
 *
 * Independent of the mock on purpose: an implementation supplies a {@link LinkPairHarness} and the
 * suite only talks to it through the Link interface, `run` (which drives the harness's time) and
 * `disconnect` (which simulates radio loss).
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES } from '../../src/constants.js';
import { AbortError, TimeoutError, TransportError, UsageError } from '../../src/errors.js';
import type { Link, LinkCloseInfo } from '../../src/transport/link.js';

/** What an implementation provides to run the suite. */
export interface LinkPairHarness {
  /** One end of a fresh connection (the phone side, for BLE). */
  a: Link;
  /** The other end (the vehicle side, for BLE). */
  b: Link;
  /** Drives the harness's time (virtual or real) until `p` settles, and returns its outcome. */
  run<T>(p: Promise<T>): Promise<T>;
  /** Simulates radio loss: both ends must close with a TransportError for pending operations. */
  disconnect(): Promise<void>;
  /** Releases everything; may assert that nothing leaked (timers, listeners). */
  teardown(): Promise<void>;
}

/** Outcome of a promise captured at once, so a later rejection is never "unhandled". */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Captures `p`'s outcome without ever rejecting. */
export function capture<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** Deterministic message of `n` bytes; `salt` tells messages apart. */
export function patternMessage(n: number, salt = 0): Uint8Array {
  const m = new Uint8Array(n);
  for (let i = 0; i < n; i++) m[i] = (i * 131 + salt * 17 + (i >>> 8)) & 0xff;
  return m;
}

/** Asserts that an outcome is a rejection of class `cls` (and `code`, if given); returns the error. */
export function expectRejected<E extends Error>(
  outcome: Settled<unknown>,
  cls: abstract new (...args: never[]) => E,
  code?: string,
): E {
  expect(outcome.ok, 'operation should have rejected').toBe(false);
  const error = (outcome as { error: unknown }).error;
  expect(error).toBeInstanceOf(cls);
  if (code !== undefined) expect((error as { code?: string }).code).toBe(code);
  return error as E;
}

/** Resolves with the close info the next time `link` closes (at once if it has). */
function closed(link: Link): Promise<LinkCloseInfo> {
  return new Promise((resolve) => link.onClose(resolve));
}

/** Sizes around every chunk boundary of the first few chunks and of the maximum, plus a stride. */
function interestingSizes(payloadBytes: number): number[] {
  const sizes = new Set<number>();
  for (let k = 1; k <= 4; k++) {
    // A message of n bytes fills k chunks exactly when n + 2 = k × payload.
    for (let d = -2; d <= 2; d++) sizes.add(k * payloadBytes - 2 + d);
  }
  for (let n = 1; n <= 8; n++) sizes.add(n);
  for (let n = MAX_MESSAGE_BYTES - 3; n <= MAX_MESSAGE_BYTES; n++) sizes.add(n);
  for (let n = 1; n <= MAX_MESSAGE_BYTES; n += 251) sizes.add(n);
  return [...sizes].filter((n) => n >= 1 && n <= MAX_MESSAGE_BYTES).sort((x, y) => x - y);
}

/**
 * Defines the conformance tests for one Link implementation. `makePair` is called once per test
 * and must return a fresh, connected pair.
 */
export function describeLinkConformance(name: string, makePair: () => Promise<LinkPairHarness>): void {
  describe(`Link conformance: ${name}`, () => {
    let h: LinkPairHarness;

    beforeEach(async () => {
      h = await makePair();
    });

    afterEach(async () => {
      await h.teardown();
    });

    /** Sends on `from` and receives on `to`, both driven by the harness. */
    async function roundTrip(from: Link, to: Link, message: Uint8Array): Promise<Uint8Array> {
      const received = capture(to.receive());
      await h.run(from.send(message));
      const outcome = await h.run(received);
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    }

    describe('basics', () => {
      it('starts open with the same MTU on both ends, an integer in [23, 517]', () => {
        expect(h.a.isClosed).toBe(false);
        expect(h.b.isClosed).toBe(false);
        expect(h.a.mtu).toBe(h.b.mtu);
        expect(Number.isInteger(h.a.mtu)).toBe(true);
        expect(h.a.mtu).toBeGreaterThanOrEqual(23);
        expect(h.a.mtu).toBeLessThanOrEqual(517);
      });

      it('carries a message a → b', async () => {
        const m = patternMessage(100, 1);
        expect(await roundTrip(h.a, h.b, m)).toEqual(m);
      });

      it('carries a message b → a', async () => {
        const m = patternMessage(100, 2);
        expect(await roundTrip(h.b, h.a, m)).toEqual(m);
      });

      it('carries a request and its reply', async () => {
        const request = patternMessage(40, 3);
        const reply = patternMessage(300, 4);
        expect(await roundTrip(h.a, h.b, request)).toEqual(request);
        expect(await roundTrip(h.b, h.a, reply)).toEqual(reply);
      });

      it('snapshots the message at send(): later edits by the caller do not travel', async () => {
        const m = patternMessage(64, 5);
        const expected = m.slice();
        const received = capture(h.b.receive());
        const sent = h.a.send(m);
        m.fill(0xee);
        await h.run(sent);
        const outcome = await h.run(received);
        expect(outcome).toEqual({ ok: true, value: expected });
      });
    });

    describe('ordering', () => {
      it('preserves order in each direction, with both directions busy at once', async () => {
        const toB = Array.from({ length: 12 }, (_, i) => patternMessage(1 + ((i * 97) % 600), 10 + i));
        const toA = Array.from({ length: 12 }, (_, i) => patternMessage(1 + ((i * 53) % 400), 40 + i));
        const sends = Promise.all([...toB.map((m) => h.a.send(m)), ...toA.map((m) => h.b.send(m))]);
        const gotB: Uint8Array[] = [];
        const gotA: Uint8Array[] = [];
        const receiving = Promise.all([
          (async () => {
            for (let i = 0; i < toB.length; i++) gotB.push(await h.b.receive());
          })(),
          (async () => {
            for (let i = 0; i < toA.length; i++) gotA.push(await h.a.receive());
          })(),
        ]);
        await h.run(Promise.all([sends, receiving]));
        expect(gotB).toEqual(toB);
        expect(gotA).toEqual(toA);
      });

      it('resolves concurrent receives in the order they were called', async () => {
        const first = capture(h.b.receive());
        const second = capture(h.b.receive());
        await h.run(h.a.send(patternMessage(10, 1)));
        await h.run(h.a.send(patternMessage(10, 2)));
        expect(await h.run(first)).toEqual({ ok: true, value: patternMessage(10, 1) });
        expect(await h.run(second)).toEqual({ ok: true, value: patternMessage(10, 2) });
      });

      it('queues messages nobody is receiving yet and hands them out in order', async () => {
        const messages = Array.from({ length: 5 }, (_, i) => patternMessage(30 + i * 50, 60 + i));
        await h.run(Promise.all(messages.map((m) => h.a.send(m))));
        for (const m of messages) expect(await h.run(h.b.receive())).toEqual(m);
      });
    });

    describe('sizes', () => {
      it('carries every size class from 1 byte to MAX_MESSAGE_BYTES, byte-exact', async () => {
        const sizes = interestingSizes(h.a.mtu - 3);
        expect(sizes).toContain(MAX_MESSAGE_BYTES);
        for (const [i, n] of sizes.entries()) {
          const m = patternMessage(n, i);
          const [from, to] = i % 2 === 0 ? [h.a, h.b] : [h.b, h.a];
          const got = await roundTrip(from, to, m);
          expect(got.length, `size ${n}`).toBe(n);
          expect(got, `size ${n}`).toEqual(m);
        }
      });

      it('rejects a message over MAX_MESSAGE_BYTES with UsageError and stays usable', async () => {
        expectRejected(await capture(h.a.send(new Uint8Array(MAX_MESSAGE_BYTES + 1))), UsageError);
        expect(h.a.isClosed).toBe(false);
        expect(await roundTrip(h.a, h.b, patternMessage(5, 9))).toEqual(patternMessage(5, 9));
      });

      it('rejects an empty message and a non-Uint8Array with UsageError', async () => {
        expectRejected(await capture(h.a.send(new Uint8Array(0))), UsageError);
        for (const bad of [null, undefined, 'text', [1, 2, 3], new ArrayBuffer(4), 42]) {
          expectRejected(await capture(h.a.send(bad as unknown as Uint8Array)), UsageError);
        }
        expect(await roundTrip(h.a, h.b, patternMessage(5, 8))).toEqual(patternMessage(5, 8));
      });

      it('rejects malformed options with UsageError', async () => {
        for (const options of [{ timeoutMs: -1 }, { timeoutMs: Number.NaN }, { signal: {} as AbortSignal }]) {
          expectRejected(await capture(h.b.receive(options)), UsageError);
          expectRejected(await capture(h.a.send(patternMessage(3), options)), UsageError);
        }
      });
    });

    describe('close', () => {
      it('close() closes both ends: local here, remote there', async () => {
        const infoA = closed(h.a);
        const infoB = closed(h.b);
        await h.run(h.a.close('test is done'));
        expect(h.a.isClosed).toBe(true);
        expect(await h.run(infoA)).toEqual({ by: 'local', reason: 'test is done' });
        const remote = await h.run(infoB);
        expect(remote.by).toBe('remote');
        expect(typeof remote.reason).toBe('string');
        expect(h.b.isClosed).toBe(true);
      });

      it('rejects pending receives on both ends with TransportError LINK_CLOSED', async () => {
        const onA = capture(h.a.receive());
        const onB = capture(h.b.receive());
        await h.run(h.a.close());
        expectRejected(await h.run(onA), TransportError, 'LINK_CLOSED');
        expectRejected(await h.run(onB), TransportError, 'LINK_CLOSED');
      });

      it('rejects later sends and receives on both ends with TransportError LINK_CLOSED', async () => {
        await h.run(h.a.close());
        await h.run(closed(h.b));
        for (const link of [h.a, h.b]) {
          expectRejected(await capture(link.send(patternMessage(4))), TransportError, 'LINK_CLOSED');
          expectRejected(await capture(link.receive()), TransportError, 'LINK_CLOSED');
          expectRejected(await capture(link.receive({ timeoutMs: 10 })), TransportError, 'LINK_CLOSED');
        }
      });

      it('is idempotent and fires each close callback exactly once', async () => {
        const seenA: LinkCloseInfo[] = [];
        const seenB: LinkCloseInfo[] = [];
        h.a.onClose((i) => seenA.push(i));
        h.b.onClose((i) => seenB.push(i));
        await h.run(h.a.close('first'));
        await h.run(h.a.close('second'));
        await h.run(closed(h.b));
        await h.run(h.b.close('late'));
        expect(seenA).toEqual([{ by: 'local', reason: 'first' }]);
        expect(seenB).toHaveLength(1);
        expect(seenB[0]?.by).toBe('remote');
        expect(h.a.isClosed && h.b.isClosed).toBe(true);
      });

      it('calls onClose at once, with the same info, when already closed', async () => {
        await h.run(h.a.close('bye'));
        const seen: LinkCloseInfo[] = [];
        h.a.onClose((i) => seen.push(i));
        expect(seen).toEqual([{ by: 'local', reason: 'bye' }]);
      });

      it('does not call an unsubscribed close callback', async () => {
        const seen: LinkCloseInfo[] = [];
        const unsubscribe = h.a.onClose((i) => seen.push(i));
        unsubscribe();
        await h.run(h.a.close());
        expect(seen).toEqual([]);
      });
    });

    describe('radio loss', () => {
      it('closes both ends (not locally) and rejects pending receives with TransportError', async () => {
        const onA = capture(h.a.receive());
        const onB = capture(h.b.receive());
        const infoA = closed(h.a);
        const infoB = closed(h.b);
        await h.disconnect();
        expectRejected(await h.run(onA), TransportError, 'LINK_CLOSED');
        expectRejected(await h.run(onB), TransportError, 'LINK_CLOSED');
        expect(['remote', 'error']).toContain((await h.run(infoA)).by);
        expect(['remote', 'error']).toContain((await h.run(infoB)).by);
        expect(h.a.isClosed && h.b.isClosed).toBe(true);
      });

      it('rejects a send in progress with TransportError, marked retryable', async () => {
        const sending = capture(h.a.send(patternMessage(MAX_MESSAGE_BYTES, 7)));
        await h.disconnect();
        const error = expectRejected(await h.run(sending), TransportError, 'LINK_CLOSED');
        expect(error.retryable).toBe(true);
        expectRejected(await capture(h.b.send(patternMessage(4))), TransportError, 'LINK_CLOSED');
      });
    });

    describe('timeouts', () => {
      it('rejects receive with TimeoutError LINK_TIMEOUT and stays usable', async () => {
        const error = expectRejected(await h.run(capture(h.b.receive({ timeoutMs: 50 }))), TimeoutError, 'LINK_TIMEOUT');
        expect(error.mayHaveSucceeded).toBe(false);
        expect(h.b.isClosed).toBe(false);
        // The timed-out receive must not swallow the next message.
        expect(await roundTrip(h.a, h.b, patternMessage(12, 3))).toEqual(patternMessage(12, 3));
      });

      it('does not time out an operation that finishes in time', async () => {
        const received = capture(h.b.receive({ timeoutMs: 60_000 }));
        await h.run(h.a.send(patternMessage(20, 1), { timeoutMs: 60_000 }));
        expect(await h.run(received)).toEqual({ ok: true, value: patternMessage(20, 1) });
      });
    });

    describe('abort', () => {
      it('rejects at once with AbortError when the signal is already aborted, and sends nothing', async () => {
        const controller = new AbortController();
        controller.abort(new Error('user cancelled'));
        expectRejected(await capture(h.b.receive({ signal: controller.signal })), AbortError, 'ABORTED');
        expectRejected(await capture(h.a.send(patternMessage(9, 1), { signal: controller.signal })), AbortError, 'ABORTED');
        // The aborted send put nothing on the air: the next message is the first to arrive.
        expect(await roundTrip(h.a, h.b, patternMessage(9, 2))).toEqual(patternMessage(9, 2));
      });

      it('rejects a pending receive with AbortError; the next message goes to the next receive', async () => {
        const controller = new AbortController();
        const pending = capture(h.b.receive({ signal: controller.signal }));
        controller.abort();
        expectRejected(await h.run(pending), AbortError, 'ABORTED');
        expect(h.b.isClosed).toBe(false);
        expect(await roundTrip(h.a, h.b, patternMessage(15, 6))).toEqual(patternMessage(15, 6));
      });

      it('rejects a send in progress with AbortError and leaves the link open', async () => {
        const controller = new AbortController();
        const sending = capture(h.a.send(patternMessage(MAX_MESSAGE_BYTES, 3), { signal: controller.signal }));
        controller.abort();
        expectRejected(await h.run(sending), AbortError, 'ABORTED');
        expect(h.a.isClosed).toBe(false);
      });
    });
  });
}
