import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES, MAX_QUEUED_MESSAGES } from '../../src/constants.js';
import { TransportError, UsageError } from '../../src/errors.js';
import { createMockLinkPair, negotiateMtu, VirtualClock } from '../../src/transport/mock/index.js';
import type { MockLinkOptions } from '../../src/transport/mock/index.js';
import { chunkCount } from '../../src/wire/framing.js';
import { capture, describeLinkConformance, expectRejected, patternMessage } from './link-conformance.js';
import { mockHarness, setup } from './mock-helpers.js';

describeLinkConformance('mock, MTU 23', mockHarness({ mtu: 23 }));
describeLinkConformance('mock, MTU 247', mockHarness({ mtu: 247 }));
describeLinkConformance(
  'mock, MTU 185, 7.5 ms interval, 1 packet/event, 40 ms relay',
  mockHarness({ mtu: 185, connectionIntervalMs: 7.5, packetsPerEvent: 1, extraLatencyMs: 40 }),
);

/** Arrival times of the chunks of each direction, from a trace. */
function chunkTimes(trace: { type: string; timeMs: number; direction?: string }[], direction: string): number[] {
  return trace.filter((e) => e.type === 'chunk' && e.direction === direction).map((e) => e.timeMs);
}

/** Time at which the receiver got its n-th message in `direction`. */
function messageTimes(trace: { type: string; timeMs: number; direction?: string }[], direction: string): number[] {
  return trace.filter((e) => e.type === 'message' && e.direction === direction).map((e) => e.timeMs);
}

/** Largest message that fits in exactly `chunks` chunks at `payloadBytes` per chunk. */
function sizeFilling(chunks: number, payloadBytes: number): number {
  return chunks * payloadBytes - 2;
}

describe('mock link: timing model', () => {
  it('delivers a 1-chunk message at the first connection event after the send', async () => {
    const { pair, run, clock } = setup({ connectionIntervalMs: 15 });
    const received = capture(pair.vehicle.receive());
    await run(pair.phone.send(patternMessage(10)));
    expect(clock.now()).toBe(15);
    expect(await run(received)).toEqual({ ok: true, value: patternMessage(10) });
  });

  it('waits for the next event when sent between events, and for the one after when sent at an event instant', async () => {
    const { pair, run, clock, trace } = setup({ connectionIntervalMs: 15 });
    await clock.advance(3);
    await run(pair.phone.send(patternMessage(5, 1)));
    expect(clock.now()).toBe(15);
    // Data ready exactly at an event cannot make that event (strictly-after rule).
    await run(pair.phone.send(patternMessage(5, 2)));
    expect(clock.now()).toBe(30);
    expect(messageTimes(trace, 'toVehicle')).toEqual([15, 30]);
  });

  it('spreads a 10-chunk message over 3 events at 4 packets per event', async () => {
    const { pair, run, clock, trace } = setup({ mtu: 23, packetsPerEvent: 4 });
    const size = sizeFilling(10, 20);
    expect(chunkCount(size, 20)).toBe(10);
    await run(pair.phone.send(patternMessage(size)));
    expect(clock.now()).toBe(45);
    expect(chunkTimes(trace, 'toVehicle')).toEqual([15, 15, 15, 15, 30, 30, 30, 30, 45, 45]);
  });

  it('shares an event between consecutive messages and keeps their order', async () => {
    const { pair, run, trace } = setup({ mtu: 23, packetsPerEvent: 4 });
    const a = patternMessage(sizeFilling(3, 20), 1);
    const b = patternMessage(sizeFilling(3, 20), 2);
    await run(Promise.all([pair.phone.send(a), pair.phone.send(b)]));
    expect(chunkTimes(trace, 'toVehicle')).toEqual([15, 15, 15, 15, 30, 30]);
    expect(messageTimes(trace, 'toVehicle')).toEqual([15, 30]);
    expect(await run(pair.vehicle.receive())).toEqual(a);
    expect(await run(pair.vehicle.receive())).toEqual(b);
  });

  it('budgets packets per event separately in each direction', async () => {
    const { pair, run, trace } = setup({ mtu: 23, packetsPerEvent: 4 });
    const size = sizeFilling(4, 20);
    await run(Promise.all([pair.phone.send(patternMessage(size, 1)), pair.vehicle.send(patternMessage(size, 2))]));
    expect(messageTimes(trace, 'toVehicle')).toEqual([15]);
    expect(messageTimes(trace, 'toPhone')).toEqual([15]);
  });

  it('adds extraLatencyMs to every chunk (a relay between the radios)', async () => {
    const { pair, run, clock, trace } = setup({ connectionIntervalMs: 15, extraLatencyMs: 40 });
    await run(pair.phone.send(patternMessage(10)));
    expect(clock.now()).toBe(55);
    // The reply is ready at 55 and leaves at the first event after it (60), landing at 100.
    await run(pair.vehicle.receive());
    await run(pair.vehicle.send(patternMessage(10)));
    expect(messageTimes(trace, 'toPhone')).toEqual([100]);
  });

  it('makes a request/reply round trip take two intervals at minimum', async () => {
    const { pair, run, clock } = setup({ connectionIntervalMs: 30 });
    const vehicle = (async () => {
      const request = await pair.vehicle.receive();
      await pair.vehicle.send(request.map((b) => b ^ 0xff));
    })();
    await run(pair.phone.send(patternMessage(8)));
    const reply = await run(pair.phone.receive());
    await run(vehicle);
    expect(reply).toEqual(patternMessage(8).map((b) => b ^ 0xff));
    expect(clock.now()).toBe(60);
  });

  it('runs the connection events from the moment the pair is created', async () => {
    const clock = new VirtualClock(1_000);
    await clock.advance(7);
    const pair = createMockLinkPair({ clock, connectionIntervalMs: 7.5 });
    expect(pair.timing.anchorMs).toBe(1_007);
    await clock.runUntilSettled(pair.phone.send(patternMessage(3)));
    expect(clock.now()).toBe(1_014.5);
  });

  it('takes the expected virtual time for the largest message at MTU 23', async () => {
    const { pair, run, clock } = setup({ mtu: 23, packetsPerEvent: 4 });
    await run(pair.phone.send(patternMessage(MAX_MESSAGE_BYTES)));
    const events = Math.ceil(chunkCount(MAX_MESSAGE_BYTES, 20) / 4);
    expect(clock.now()).toBe(events * 15);
  });
});

describe('mock link: every size and random traffic', () => {
  it('carries every message size from 1 to MAX_MESSAGE_BYTES byte-exact (MTU 517, batches of 16)', async () => {
    const { pair, run } = setup({ mtu: 517 });
    for (let start = 1; start <= MAX_MESSAGE_BYTES; start += 16) {
      const sizes = Array.from({ length: 16 }, (_, i) => start + i).filter((n) => n <= MAX_MESSAGE_BYTES);
      await run(Promise.all(sizes.map((n) => pair.phone.send(patternMessage(n, n)))));
      for (const n of sizes) {
        // Byte loop, not toEqual: vitest's deep equality is slow on 8 MB of Uint8Array elements.
        const got = await run(pair.vehicle.receive());
        const want = patternMessage(n, n);
        expect(got.length).toBe(n);
        expect(got.every((b, i) => b === want[i])).toBe(true);
      }
    }
    expect(pair.stats.toVehicle).toMatchObject({ delivered: MAX_MESSAGE_BYTES, reassemblyErrors: 0 });
  });

  it('property: any traffic arrives whole and in order, counters add up, and no event carries too many chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          mtu: fc.integer({ min: 23, max: 517 }),
          connectionIntervalMs: fc.constantFrom(7.5, 15, 30, 48.75),
          packetsPerEvent: fc.integer({ min: 1, max: 6 }),
          extraLatencyMs: fc.integer({ min: 0, max: 50 }),
        }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: MAX_MESSAGE_BYTES })), { minLength: 1, maxLength: 12 }),
        async (options, traffic) => {
          const { pair, run, trace } = setup(options);
          const toVehicle = traffic.filter(([up]) => up).map(([, n], i) => patternMessage(n, i));
          const toPhone = traffic.filter(([up]) => !up).map(([, n], i) => patternMessage(n, 100 + i));
          await run(Promise.all([...toVehicle.map((m) => pair.phone.send(m)), ...toPhone.map((m) => pair.vehicle.send(m))]));
          for (const m of toVehicle) expect(await run(pair.vehicle.receive())).toEqual(m);
          for (const m of toPhone) expect(await run(pair.phone.receive())).toEqual(m);
          const payload = options.mtu - 3;
          for (const [direction, sent] of [['toVehicle', toVehicle], ['toPhone', toPhone]] as const) {
            const stats = pair.stats[direction];
            const bytes = sent.reduce((s, m) => s + m.length, 0);
            expect(stats).toMatchObject({
              messages: sent.length,
              messageBytes: bytes,
              airBytes: bytes + 2 * sent.length,
              gattOps: sent.reduce((s, m) => s + chunkCount(m.length, payload), 0),
              delivered: sent.length,
            });
            const perEvent = new Map<number, number>();
            for (const t of chunkTimes(trace, direction)) perEvent.set(t, (perEvent.get(t) ?? 0) + 1);
            for (const [t, n] of perEvent) {
              expect(n).toBeLessThanOrEqual(options.packetsPerEvent);
              // Every arrival is a connection event plus the relay latency.
              const k = (t - options.extraLatencyMs) / options.connectionIntervalMs;
              expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-9);
            }
          }
        },
      ),
      { numRuns: 40, seed: 20_260_101 },
    );
  });
});

describe('mock link: MTU negotiation', () => {
  it.each([
    // [phone requests, vehicle supports, negotiated]
    [185, 517, 185],
    [517, 517, 517],
    [517, 247, 247],
    [247, 185, 185],
    [23, 517, 23],
    [10, 517, 23], // below the ATT default: taken as 23
    [1000, 2000, 517], // above the 517 cap
    [185, 0, 23],
  ])('phone %i, vehicle %i → %i', (phone, vehicle, expected) => {
    expect(negotiateMtu(phone, vehicle)).toBe(expected);
    const pair = createMockLinkPair({ clock: new VirtualClock(), mtu: phone, vehicleMaxMtu: vehicle });
    expect(pair.mtu).toBe(expected);
    expect(pair.phone.mtu).toBe(expected);
    expect(pair.vehicle.mtu).toBe(expected);
    expect(pair.payloadBytes).toBe(expected - 3);
  });

  it('defaults to 185 (an iPhone) against a 517-capable vehicle', () => {
    expect(createMockLinkPair({ clock: new VirtualClock() }).mtu).toBe(185);
  });

  it('never puts more than mtu − 3 bytes in one chunk', async () => {
    for (const mtu of [23, 185, 247, 517]) {
      const { pair, run, trace } = setup({ mtu });
      await run(pair.phone.send(patternMessage(MAX_MESSAGE_BYTES)));
      const sizes = trace.filter((e) => e.type === 'chunk').map((e) => e.size ?? 0);
      expect(Math.max(...sizes)).toBe(mtu - 3);
      expect(sizes).toHaveLength(chunkCount(MAX_MESSAGE_BYTES, mtu - 3));
    }
  });

  it('rejects a non-integer MTU', () => {
    for (const mtu of [185.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createMockLinkPair({ clock: new VirtualClock(), mtu })).toThrow(UsageError);
    }
  });
});

describe('mock link: options', () => {
  const bad: Array<[string, Partial<MockLinkOptions>]> = [
    ['interval below 7.5 ms', { connectionIntervalMs: 5 }],
    ['interval above 4 s', { connectionIntervalMs: 4_001 }],
    ['interval NaN', { connectionIntervalMs: Number.NaN }],
    ['zero packets per event', { packetsPerEvent: 0 }],
    ['fractional packets per event', { packetsPerEvent: 1.5 }],
    ['negative latency', { extraLatencyMs: -1 }],
    ['max message 0', { maxMessageBytes: 0 }],
    ['max message above u16', { maxMessageBytes: 70_000 }],
    ['queue 0', { maxQueuedMessages: 0 }],
    ['inter-chunk timeout 0', { interChunkTimeoutMs: 0 }],
    ['disconnectAtMs NaN', { disconnectAtMs: Number.NaN }],
    ['disconnect rule direction', { disconnectAfterMessages: { direction: 'sideways' as 'toPhone', count: 1 } }],
    ['disconnect rule count 0', { disconnectAfterMessages: { direction: 'toPhone', count: 0 } }],
    ['disconnect rule when', { disconnectAfterMessages: { direction: 'toPhone', count: 1, when: 'during' as 'after' } }],
    ['adversary not a function', { adversary: 42 as unknown as MockLinkOptions['adversary'] }],
    ['trace not a function', { trace: 'yes' as unknown as MockLinkOptions['trace'] }],
  ];
  it.each(bad)('rejects %s with UsageError MOCK_BAD_OPTIONS', (_name, options) => {
    let caught: unknown;
    try {
      createMockLinkPair({ clock: new VirtualClock(), ...options });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).code).toBe('MOCK_BAD_OPTIONS');
  });

  it('rejects a missing or malformed clock', () => {
    expect(() => createMockLinkPair({} as MockLinkOptions)).toThrow(UsageError);
    expect(() => createMockLinkPair({ clock: { now: () => 0 } } as unknown as MockLinkOptions)).toThrow(UsageError);
    expect(() => createMockLinkPair(null as unknown as MockLinkOptions)).toThrow(UsageError);
  });

  it('honours a smaller maxMessageBytes', async () => {
    const { pair, run } = setup({ maxMessageBytes: 100 });
    expectRejected(await capture(pair.phone.send(patternMessage(101))), UsageError, 'LINK_MESSAGE_TOO_LARGE');
    await run(pair.phone.send(patternMessage(100)));
    expect(await run(pair.vehicle.receive())).toEqual(patternMessage(100));
  });
});

describeLinkConformance('mock, MTU 185, writes with response, indications', mockHarness({ mtu: 185, writeWithResponse: true, indicate: true }));

/** Arrival times of the acknowledgements travelling in `direction`. */
function ackTimes(trace: { type: string; timeMs: number; direction?: string }[], direction: string): number[] {
  return trace.filter((e) => e.type === 'ack' && e.direction === direction).map((e) => e.timeMs);
}

describe('mock link: ATT acknowledgements', () => {
  it('a write with response keeps one chunk outstanding: each chunk costs two events', async () => {
    const { pair, run, clock, trace } = setup({ mtu: 23, writeWithResponse: true });
    await run(pair.phone.send(patternMessage(sizeFilling(3, 20))));
    // Chunks leave at events 1, 3, 5; each Write Response goes out the event after its chunk.
    expect(chunkTimes(trace, 'toVehicle')).toEqual([15, 45, 75]);
    expect(ackTimes(trace, 'toPhone')).toEqual([15, 45, 75]);
    // send resolves when the last Write Response lands, at event 6.
    expect(clock.now()).toBe(90);
    expect(pair.stats.toPhone.acks).toBe(3);
    expect(pair.stats.toVehicle.acks).toBe(0);
  });

  it('an indication waits for its confirmation before the next message goes', async () => {
    const { pair, run, clock, trace } = setup({ indicate: true });
    const first = pair.vehicle.send(patternMessage(10, 1));
    const second = pair.vehicle.send(patternMessage(10, 2));
    await run(Promise.all([first, second]));
    expect(messageTimes(trace, 'toPhone')).toEqual([15, 45]);
    expect(clock.now()).toBe(60);
    expect(pair.stats.toVehicle.acks).toBe(2);
  });

  it('an acknowledgement takes a packet slot of the other direction', async () => {
    const { pair, run, trace } = setup({ writeWithResponse: true, packetsPerEvent: 1 });
    const write = pair.phone.send(patternMessage(10, 1));
    await run(pair.vehicle.receive());
    // The vehicle answers at once (t = 15): the Write Response holds event 2, the reply takes event 3.
    const reply = pair.vehicle.send(patternMessage(10, 2));
    await run(Promise.all([write, reply, pair.phone.receive()]));
    expect(messageTimes(trace, 'toPhone')).toEqual([45]);
  });

  it('a phone → vehicle request and its notified reply stay one round trip with responses on', async () => {
    const { pair, run, clock } = setup({ writeWithResponse: true });
    const sent = pair.phone.send(patternMessage(100));
    await run(pair.vehicle.receive());
    await run(Promise.all([sent, pair.vehicle.send(patternMessage(20)), pair.phone.receive()]));
    expect(clock.now()).toBe(30);
  });

  it('is off by default: no acknowledgements, one event per chunk', async () => {
    const { pair, run, clock } = setup({ mtu: 23 });
    await run(pair.phone.send(patternMessage(sizeFilling(3, 20))));
    expect(clock.now()).toBe(15);
    expect(pair.stats.toPhone.acks).toBe(0);
  });

  it('refuses a non-boolean acknowledgement option', () => {
    const clock = new VirtualClock(0);
    expect(() => createMockLinkPair({ clock, writeWithResponse: 1 as unknown as boolean })).toThrow(UsageError);
    expect(() => createMockLinkPair({ clock, indicate: 'yes' as unknown as boolean })).toThrow(UsageError);
  });
});

describe('mock link: stats', () => {
  it('counts messages, bytes, framed bytes on the air and GATT operations per direction', async () => {
    const { pair, run } = setup({ mtu: 23 });
    const sizes = [1, 18, 19, 100, MAX_MESSAGE_BYTES];
    for (const n of sizes) await run(pair.phone.send(patternMessage(n)));
    await run(pair.vehicle.send(patternMessage(300)));
    const total = sizes.reduce((s, n) => s + n, 0);
    expect(pair.stats.toVehicle).toEqual({
      messages: sizes.length,
      messageBytes: total,
      airBytes: total + 2 * sizes.length,
      gattOps: sizes.reduce((s, n) => s + chunkCount(n, 20), 0),
      acks: 0,
      delivered: sizes.length,
      dropped: 0,
      chunksDropped: 0,
      reassemblyErrors: 0,
    });
    expect(pair.stats.toPhone).toMatchObject({ messages: 1, messageBytes: 300, airBytes: 302, gattOps: chunkCount(300, 20) });
  });

  it('snapshots are copies; reset zeroes every counter and counting resumes', async () => {
    const { pair, run } = setup({ mtu: 247 });
    await run(pair.phone.send(patternMessage(500)));
    const before = pair.stats.snapshot();
    pair.stats.reset();
    expect(before.toVehicle.messages).toBe(1);
    expect(Object.values(pair.stats.toVehicle).every((v) => v === 0)).toBe(true);
    await run(pair.phone.send(patternMessage(10)));
    expect(pair.stats.toVehicle).toMatchObject({ messages: 1, messageBytes: 10, airBytes: 12, gattOps: 1 });
    expect(before.toVehicle.messageBytes).toBe(500);
  });
});

describe('mock link: receive queue bound', () => {
  it(`queues ${MAX_QUEUED_MESSAGES} messages, then fails the link loudly on the next`, async () => {
    const { pair, run } = setup();
    for (let i = 0; i < MAX_QUEUED_MESSAGES; i++) await run(pair.phone.send(patternMessage(4, i)));
    expect(pair.vehicle.queuedMessages).toBe(MAX_QUEUED_MESSAGES);
    const vehicleClosed = new Promise((resolve) => pair.vehicle.onClose(resolve));
    const phoneClosed = new Promise((resolve) => pair.phone.onClose(resolve));
    const overflow = capture(pair.phone.send(patternMessage(4, 99)));
    expect(await run(vehicleClosed)).toMatchObject({ by: 'error', reason: expect.stringMatching(/queue overflow/) });
    expect(await run(phoneClosed)).toMatchObject({ by: 'remote' });
    expectRejected(await run(overflow), TransportError, 'LINK_CLOSED');
  });

  it('respects a custom bound', async () => {
    const { pair, run } = setup({ maxQueuedMessages: 2 });
    await run(pair.phone.send(patternMessage(4, 1)));
    await run(pair.phone.send(patternMessage(4, 2)));
    await run(capture(pair.phone.send(patternMessage(4, 3))));
    expect(pair.vehicle.closeInfo?.by).toBe('error');
  });
});

describe('mock link: close', () => {
  it('tells the peer at the next connection event (plus relay latency), with a generic reason', async () => {
    const { pair, run, clock } = setup({ connectionIntervalMs: 15, extraLatencyMs: 40 });
    await clock.advance(2);
    await pair.phone.close('my secret reason');
    expect(pair.isClosed).toBe(true);
    expect(pair.vehicle.isClosed).toBe(false);
    const info = await run(new Promise((resolve) => pair.vehicle.onClose(resolve)));
    expect(clock.now()).toBe(55);
    expect(info).toEqual({ by: 'remote', reason: 'peer terminated the connection' });
  });

  it('drops chunks in flight; a send from the peer before it learns of the close is rejected', async () => {
    const { pair, run } = setup({ mtu: 23 });
    const inFlight = capture(pair.phone.send(patternMessage(1_000)));
    await pair.phone.close();
    const late = capture(pair.vehicle.send(patternMessage(5)));
    expectRejected(await run(inFlight), TransportError, 'LINK_CLOSED');
    const error = expectRejected(await run(late), TransportError, 'LINK_CLOSED');
    expect(error.mayHaveSucceeded).toBe(true);
    expect(pair.stats.toVehicle.delivered).toBe(0);
  });

  it('a disconnect after a close pre-empts the remote notification', async () => {
    const { pair, clock } = setup();
    await pair.phone.close();
    pair.disconnect('plug pulled');
    expect(pair.vehicle.closeInfo).toEqual({ by: 'error', reason: 'connection lost: plug pulled' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('leaves no timer behind once both ends are closed', async () => {
    const { pair, run, clock } = setup({ disconnectAtMs: 10_000 });
    capture(pair.vehicle.receive({ timeoutMs: 5_000 }));
    capture(pair.phone.send(patternMessage(3_000)));
    await clock.advance(20);
    await pair.vehicle.close();
    await run(new Promise((resolve) => pair.phone.onClose(resolve)));
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('mock link: determinism', () => {
  /** A busy scenario: both directions, adversary delays and duplicates, a disconnect at the end. */
  async function scenario(): Promise<{ trace: unknown[]; endMs: number; stats: unknown }> {
    const { pair, run, clock, trace } = setup({
      mtu: 23,
      connectionIntervalMs: 7.5,
      packetsPerEvent: 3,
      extraLatencyMs: 4,
      disconnectAtMs: 2_000,
      adversary: ({ index, direction }) =>
        direction === 'toVehicle' && index % 3 === 1 ? { type: 'delay', ms: 37 } : index % 4 === 2 ? { type: 'duplicate' } : undefined,
    });
    const phone = (async () => {
      for (let i = 0; i < 8; i++) {
        await pair.phone.send(patternMessage(10 + i * 40, i));
      }
    })();
    const vehicle = (async () => {
      for (let i = 0; i < 8; i++) {
        const m = await pair.vehicle.receive();
        await pair.vehicle.send(m.subarray(0, 1 + (m.length % 50)));
      }
    })();
    await run(capture(Promise.all([phone, vehicle])));
    await run(new Promise((resolve) => pair.phone.onClose(resolve)));
    return { trace, endMs: clock.now(), stats: pair.stats.snapshot() };
  }

  it('gives identical traces, times and stats on every run', async () => {
    const first = await scenario();
    const second = await scenario();
    expect(first.trace.length).toBeGreaterThan(50);
    expect(second).toEqual(first);
  });
});
