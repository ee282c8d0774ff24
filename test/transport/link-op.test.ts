import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES } from '../../src/constants.js';
import { AbortError, TimeoutError, UsageError } from '../../src/errors.js';
import { Deferred } from '../../src/transport/deferred.js';
import { checkLinkOpOptions, checkOutgoingMessage, guardLinkOp, sleep } from '../../src/transport/link-op.js';
import { VirtualClock } from '../../src/transport/mock/index.js';
import { capture, expectRejected } from './link-conformance.js';

describe('Deferred', () => {
  it('settles once: later resolve/reject calls are ignored and report false', async () => {
    const d = new Deferred<number>();
    expect(d.settled).toBe(false);
    expect(d.resolve(1)).toBe(true);
    expect(d.resolve(2)).toBe(false);
    expect(d.reject(new Error('late'))).toBe(false);
    expect(d.settled).toBe(true);
    expect(await d.promise).toBe(1);
  });

  it('runs settle hooks once, at settlement, or at once when already settled', async () => {
    const d = new Deferred<void>();
    const calls: string[] = [];
    d.onSettle(() => calls.push('early'));
    d.reject(new Error('x'));
    d.onSettle(() => calls.push('late'));
    d.reject(new Error('y'));
    expect(calls).toEqual(['early', 'late']);
    await expect(d.promise).rejects.toThrow('x');
  });
});

describe('Link argument checks', () => {
  const badMessages: Array<[string, unknown, string]> = [
    ['null', null, 'LINK_BAD_MESSAGE'],
    ['a string', 'hello', 'LINK_BAD_MESSAGE'],
    ['an array', [1, 2], 'LINK_BAD_MESSAGE'],
    ['an ArrayBuffer', new ArrayBuffer(3), 'LINK_BAD_MESSAGE'],
    ['a DataView', new DataView(new ArrayBuffer(3)), 'LINK_BAD_MESSAGE'],
    ['empty', new Uint8Array(0), 'LINK_EMPTY_MESSAGE'],
    ['oversize', new Uint8Array(MAX_MESSAGE_BYTES + 1), 'LINK_MESSAGE_TOO_LARGE'],
  ];
  it.each(badMessages)('refuses %s as a message', (_name, message, code) => {
    expect(() => checkOutgoingMessage(message)).toThrow(UsageError);
    try {
      checkOutgoingMessage(message);
    } catch (err) {
      expect((err as UsageError).code).toBe(code);
    }
  });

  it('accepts 1..max bytes, including a view into a larger buffer', () => {
    expect(() => checkOutgoingMessage(new Uint8Array(1))).not.toThrow();
    expect(() => checkOutgoingMessage(new Uint8Array(MAX_MESSAGE_BYTES))).not.toThrow();
    expect(() => checkOutgoingMessage(new Uint8Array(100).subarray(10, 20))).not.toThrow();
  });

  const badOptions: unknown[] = [
    null,
    'fast',
    { timeoutMs: -1 },
    { timeoutMs: Number.NaN },
    { timeoutMs: Number.POSITIVE_INFINITY },
    { timeoutMs: '100' },
    { signal: {} },
    { signal: true },
  ];
  it.each(badOptions)('refuses options %j', (options) => {
    expect(() => checkLinkOpOptions(options as never)).toThrow(UsageError);
  });

  it('accepts undefined, {}, a zero timeout and a real signal', () => {
    for (const o of [undefined, {}, { timeoutMs: 0 }, { signal: new AbortController().signal }]) {
      expect(() => checkLinkOpOptions(o)).not.toThrow();
    }
  });
});

describe('guardLinkOp', () => {
  it('times out with LINK_TIMEOUT on the given clock, carrying mayHaveSucceeded, and calls onGiveUp once', async () => {
    const clock = new VirtualClock();
    const op = new Deferred<void>();
    let gaveUp = 0;
    guardLinkOp(op, clock, { timeoutMs: 250 }, { name: 'send', mayHaveSucceeded: true, onGiveUp: () => gaveUp++ });
    const outcome = await clock.runUntilSettled(capture(op.promise));
    const error = expectRejected(outcome, TimeoutError, 'LINK_TIMEOUT');
    expect(error.mayHaveSucceeded).toBe(true);
    expect(error.retryable).toBe(true);
    expect(clock.now()).toBe(250);
    expect(gaveUp).toBe(1);
  });

  it('aborts with AbortError whose cause is the signal reason', async () => {
    const clock = new VirtualClock();
    const op = new Deferred<void>();
    const controller = new AbortController();
    guardLinkOp(op, clock, { signal: controller.signal, timeoutMs: 1_000 }, { name: 'receive', mayHaveSucceeded: false });
    const reason = new Error('user left');
    controller.abort(reason);
    const error = expectRejected(await capture(op.promise), AbortError, 'ABORTED');
    expect(error.cause).toBe(reason);
    expect(clock.pendingTimers).toBe(0); // the timeout timer went with it
  });

  it('removes its timer and listener when the operation settles first', async () => {
    const clock = new VirtualClock();
    const op = new Deferred<string>();
    const controller = new AbortController();
    let gaveUp = false;
    guardLinkOp(op, clock, { signal: controller.signal, timeoutMs: 100 }, { name: 'receive', mayHaveSucceeded: false, onGiveUp: () => (gaveUp = true) });
    op.resolve('data');
    expect(clock.pendingTimers).toBe(0);
    controller.abort();
    await clock.advance(200);
    expect(await op.promise).toBe('data');
    expect(gaveUp).toBe(false);
  });
});

describe('sleep', () => {
  it('resolves after the given virtual time', async () => {
    const clock = new VirtualClock();
    await clock.runUntilSettled(sleep(clock, 1_234));
    expect(clock.now()).toBe(1_234);
  });

  it('rejects with AbortError, before or during, and leaves no timer', async () => {
    const clock = new VirtualClock();
    const before = new AbortController();
    before.abort();
    expectRejected(await capture(sleep(clock, 10, before.signal)), AbortError);
    const during = new AbortController();
    const sleeping = capture(sleep(clock, 10, during.signal));
    during.abort();
    expectRejected(await sleeping, AbortError);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects a bad duration with UsageError', async () => {
    const clock = new VirtualClock();
    for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectRejected(await capture(sleep(clock, ms)), UsageError, 'SLEEP_BAD_DURATION');
    }
  });
});
