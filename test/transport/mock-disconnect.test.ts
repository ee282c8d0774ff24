import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES } from '../../src/constants.js';
import { TransportError } from '../../src/errors.js';
import type { LinkCloseInfo } from '../../src/transport/link.js';
import type { MockLinkEnd } from '../../src/transport/mock/index.js';
import { capture, expectRejected, patternMessage, type Settled } from './link-conformance.js';
import { setup } from './mock-helpers.js';

/** Resolves with an end's close info. */
function closed(end: MockLinkEnd): Promise<LinkCloseInfo> {
  return new Promise((resolve) => end.onClose(resolve));
}

/** A vehicle that records what it receives until its link closes. */
function recordingVehicle(end: MockLinkEnd): { got: Uint8Array[]; done: Promise<Settled<never>> } {
  const got: Uint8Array[] = [];
  const done = capture(
    (async () => {
      for (;;) got.push(await end.receive());
    })(),
  );
  return { got, done };
}

describe('mock link: disconnectAtMs', () => {
  it('loses the radio at the given virtual time, mid-message: both ends error, the partial is discarded', async () => {
    const { pair, run, clock, trace } = setup({ mtu: 23, disconnectAtMs: 100 });
    const vehicle = recordingVehicle(pair.vehicle);
    const sending = capture(pair.phone.send(patternMessage(MAX_MESSAGE_BYTES)));
    const info = await run(closed(pair.phone));
    expect(clock.now()).toBe(100);
    expect(info).toEqual({ by: 'error', reason: 'connection lost: disconnectAtMs 100 reached' });
    expect(pair.vehicle.closeInfo).toEqual(info);
    const error = expectRejected(await run(sending), TransportError, 'LINK_CLOSED');
    expect(error.mayHaveSucceeded).toBe(true); // the sender cannot know how far it got
    expectRejected(await run(vehicle.done), TransportError, 'LINK_CLOSED');
    expect(vehicle.got).toEqual([]);
    expect(trace.filter((e) => e.type === 'chunk').length).toBeGreaterThan(0); // it was mid-message
    expect(pair.stats.toVehicle.delivered).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a deadline already past disconnects at once', async () => {
    const { pair, run, clock } = setup({ disconnectAtMs: 10 }, 50);
    await run(closed(pair.vehicle));
    expect(clock.now()).toBe(50);
  });

  it('lets traffic through until the deadline', async () => {
    const { pair, run } = setup({ disconnectAtMs: 1_000 });
    await run(pair.phone.send(patternMessage(10)));
    expect(await run(pair.vehicle.receive())).toEqual(patternMessage(10));
    await run(closed(pair.phone));
  });
});

describe('mock link: disconnectAfterMessages', () => {
  it("'after' (default): the receiver gets message n, then the link drops and the sender's write is never acknowledged", async () => {
    const { pair, run } = setup({ disconnectAfterMessages: { direction: 'toVehicle', count: 2 } });
    const vehicle = recordingVehicle(pair.vehicle);
    await run(pair.phone.send(patternMessage(10, 1)));
    const second = await run(capture(pair.phone.send(patternMessage(10, 2))));
    // The command reached the vehicle but the phone cannot know: "may have succeeded".
    const error = expectRejected(second, TransportError, 'LINK_CLOSED');
    expect(error.mayHaveSucceeded).toBe(true);
    await run(vehicle.done);
    expect(vehicle.got).toEqual([patternMessage(10, 1), patternMessage(10, 2)]);
    expect(pair.phone.closeInfo?.by).toBe('error');
    expect(pair.vehicle.closeInfo?.by).toBe('error');
  });

  it("'before': the link drops as message n lands, and the receiver never sees it", async () => {
    const { pair, run } = setup({ disconnectAfterMessages: { direction: 'toVehicle', count: 2, when: 'before' } });
    const vehicle = recordingVehicle(pair.vehicle);
    await run(pair.phone.send(patternMessage(10, 1)));
    expectRejected(await run(capture(pair.phone.send(patternMessage(10, 2)))), TransportError, 'LINK_CLOSED');
    await run(vehicle.done);
    expect(vehicle.got).toEqual([patternMessage(10, 1)]);
  });

  it('counts only the chosen direction, injected messages included', async () => {
    const { pair, run } = setup({ disconnectAfterMessages: { direction: 'toPhone', count: 2 } });
    await run(pair.phone.send(patternMessage(5, 1)));
    await run(pair.phone.send(patternMessage(5, 2)));
    await run(pair.phone.send(patternMessage(5, 3)));
    expect(pair.isClosed).toBe(false);
    await run(pair.inject('toPhone', patternMessage(5, 4)));
    expect(pair.isClosed).toBe(false);
    const reply = capture(pair.phone.receive());
    await run(capture(pair.vehicle.send(patternMessage(5, 5))));
    expect(await run(reply)).toEqual({ ok: true, value: patternMessage(5, 4) });
    expect(pair.isClosed).toBe(true);
  });

  it('is not fooled by a stats reset', async () => {
    const { pair, run } = setup({ disconnectAfterMessages: { direction: 'toVehicle', count: 2 } });
    await run(pair.phone.send(patternMessage(5, 1)));
    pair.stats.reset();
    await run(capture(pair.phone.send(patternMessage(5, 2))));
    expect(pair.isClosed).toBe(true);
  });
});

describe('mock link: disconnect()', () => {
  it('closes both ends at once with by "error", rejects everything pending, drops what is in flight', async () => {
    const { pair, run, clock } = setup({ mtu: 23 });
    const onPhone = capture(pair.phone.receive());
    const onVehicle = capture(pair.vehicle.receive());
    const sending = capture(pair.vehicle.send(patternMessage(500)));
    await clock.advance(20);
    pair.disconnect('walked out of range');
    const expected = { by: 'error', reason: 'connection lost: walked out of range' };
    expect(pair.phone.closeInfo).toEqual(expected);
    expect(pair.vehicle.closeInfo).toEqual(expected);
    expectRejected(await run(onPhone), TransportError, 'LINK_CLOSED');
    expectRejected(await run(onVehicle), TransportError, 'LINK_CLOSED');
    expectRejected(await run(sending), TransportError, 'LINK_CLOSED');
    expect(pair.stats.toPhone.delivered).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('is idempotent', async () => {
    const { pair } = setup();
    const seen: LinkCloseInfo[] = [];
    pair.phone.onClose((i) => seen.push(i));
    pair.disconnect('one');
    pair.disconnect('two');
    expect(seen).toEqual([{ by: 'error', reason: 'connection lost: one' }]);
  });

  it('discards queued messages: the Link contract rejects operations after close', async () => {
    const { pair, run } = setup();
    await run(pair.phone.send(patternMessage(5)));
    expect(pair.vehicle.queuedMessages).toBe(1);
    pair.disconnect();
    expect(pair.vehicle.queuedMessages).toBe(0);
    expectRejected(await capture(pair.vehicle.receive()), TransportError, 'LINK_CLOSED');
  });

  it('a close callback that throws does not stop the others', async () => {
    const { pair } = setup();
    const seen: string[] = [];
    const errors: unknown[] = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (fn) => {
      try {
        fn();
      } catch (err) {
        errors.push(err);
      }
    };
    try {
      pair.phone.onClose(() => {
        throw new Error('listener bug');
      });
      pair.phone.onClose(() => seen.push('second'));
      pair.disconnect();
    } finally {
      globalThis.queueMicrotask = original;
    }
    expect(seen).toEqual(['second']);
    expect(errors).toHaveLength(1);
  });
});
