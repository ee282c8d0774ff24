import { describe, expect, it } from 'vitest';
import { TimeoutError, TransportError, UsageError } from '../../src/errors.js';
import type { AdversaryAction, AdversaryEvent, ChunkAdversaryEvent } from '../../src/transport/mock/index.js';
import { chunkCount } from '../../src/wire/framing.js';
import { capture, expectRejected, patternMessage } from './link-conformance.js';
import { setup } from './mock-helpers.js';

/** Receives everything the vehicle gets until `ms` of virtual time pass without a message. */
async function drain(
  receive: (o: { timeoutMs: number }) => Promise<Uint8Array>,
  run: <T>(p: Promise<T>) => Promise<T>,
  ms = 5_000,
): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  for (;;) {
    const outcome = await run(capture(receive({ timeoutMs: ms })));
    if (!outcome.ok) {
      expect(outcome.error).toBeInstanceOf(TimeoutError);
      return got;
    }
    got.push(outcome.value);
  }
}

describe('mock adversary: message level', () => {
  it('sees every message in both directions with a per-direction index, the time and a copy of the bytes', async () => {
    const seen: Array<Omit<AdversaryEvent, 'bytes'> & { size: number }> = [];
    const { pair, run, clock } = setup({
      adversary: (e) => {
        seen.push({ direction: e.direction, index: e.index, timeMs: e.timeMs, size: e.bytes.length });
        e.bytes.fill(0); // editing the copy must change nothing
      },
    });
    await run(pair.phone.send(patternMessage(10, 1)));
    await run(pair.vehicle.send(patternMessage(20, 2)));
    await clock.advance(100);
    await run(pair.phone.send(patternMessage(30, 3)));
    expect(seen).toEqual([
      { direction: 'toVehicle', index: 0, timeMs: 0, size: 10 },
      { direction: 'toPhone', index: 0, timeMs: 15, size: 20 },
      { direction: 'toVehicle', index: 1, timeMs: 130, size: 30 },
    ]);
    expect(await run(pair.vehicle.receive())).toEqual(patternMessage(10, 1));
    expect(await run(pair.phone.receive())).toEqual(patternMessage(20, 2));
  });

  it('deliver (explicit) passes the message through', async () => {
    const { pair, run } = setup({ adversary: () => ({ type: 'deliver' }) });
    await run(pair.phone.send(patternMessage(50)));
    expect(await run(pair.vehicle.receive())).toEqual(patternMessage(50));
  });

  it('drop: the receiver gets nothing, the sender is acknowledged on time, the drop is counted', async () => {
    const { pair, run, clock } = setup({ mtu: 23, adversary: ({ index }) => (index === 0 ? { type: 'drop' } : undefined) });
    await run(pair.phone.send(patternMessage(100, 1)));
    // 102 framed bytes = 6 chunks at 20 bytes: two events, acknowledged at 30 as if delivered.
    expect(clock.now()).toBe(30);
    await run(pair.phone.send(patternMessage(10, 2)));
    expect(await drain((o) => pair.vehicle.receive(o), run)).toEqual([patternMessage(10, 2)]);
    expect(pair.stats.toVehicle).toMatchObject({ dropped: 1, messages: 1, delivered: 1 });
  });

  it('an empty action list drops too', async () => {
    const { pair, run } = setup({ adversary: () => [] });
    await run(pair.phone.send(patternMessage(10)));
    expect(await drain((o) => pair.vehicle.receive(o), run)).toEqual([]);
    expect(pair.stats.toVehicle.dropped).toBe(1);
  });

  it('modify: the receiver gets the attacker’s bytes (the link has no integrity: that is the protocol’s job)', async () => {
    const tampered = patternMessage(77, 9);
    const { pair, run } = setup({ adversary: () => ({ type: 'modify', bytes: tampered }) });
    await run(pair.phone.send(patternMessage(10)));
    expect(await run(pair.vehicle.receive())).toEqual(tampered);
    expect(pair.stats.toVehicle).toMatchObject({ messages: 1, messageBytes: 77, airBytes: 79 });
  });

  it('modify beyond the receiver’s maximum: every chunk is refused by its reassembler, nothing is delivered', async () => {
    const huge = new Uint8Array(5_000).fill(0xff); // every chunk then starts with length 0xffff
    const { pair, run } = setup({ mtu: 247, adversary: () => ({ type: 'modify', bytes: huge }) });
    await run(pair.phone.send(patternMessage(10)));
    expect(await drain((o) => pair.vehicle.receive(o), run)).toEqual([]);
    expect(pair.stats.toVehicle).toMatchObject({ delivered: 0, reassemblyErrors: chunkCount(5_000, 244) });
  });

  it('delay: the message leaves at the first event after the hold; the sender is acknowledged at once', async () => {
    const { pair, run, clock, trace } = setup({ adversary: () => ({ type: 'delay', ms: 100 }) });
    await run(pair.phone.send(patternMessage(10)));
    expect(clock.now()).toBe(15);
    expect(await run(pair.vehicle.receive())).toEqual(patternMessage(10));
    // Released at 100, first event after it is 105.
    expect(trace.filter((e) => e.type === 'message').map((e) => e.timeMs)).toEqual([105]);
  });

  it('delay with bytes: holds a modified copy', async () => {
    const { pair, run } = setup({ adversary: () => ({ type: 'delay', ms: 10, bytes: patternMessage(3, 3) }) });
    await run(pair.phone.send(patternMessage(10)));
    expect(await run(pair.vehicle.receive())).toEqual(patternMessage(3, 3));
  });

  it('reorders: a delayed message is overtaken by the next one', async () => {
    const { pair, run } = setup({
      mtu: 23,
      adversary: ({ index }) => (index === 0 ? { type: 'delay', ms: 200 } : undefined),
    });
    const m0 = patternMessage(150, 0); // 8 chunks: overtaking must not interleave chunks of two messages
    const m1 = patternMessage(150, 1);
    await run(pair.phone.send(m0));
    await run(pair.phone.send(m1));
    expect(await drain((o) => pair.vehicle.receive(o), run)).toEqual([m1, m0]);
    expect(pair.stats.toVehicle.reassemblyErrors).toBe(0);
  });

  it('reorders messages sent back to back without awaiting', async () => {
    const { pair, run } = setup({
      adversary: ({ index }) => (index === 1 ? { type: 'delay', ms: 45 } : undefined),
    });
    const messages = [0, 1, 2, 3].map((i) => patternMessage(20, i));
    await run(Promise.all(messages.map((m) => pair.phone.send(m))));
    const got = await drain((o) => pair.vehicle.receive(o), run);
    expect(got).toEqual([messages[0], messages[2], messages[3], messages[1]]);
  });

  it('duplicate: 1 + count copies back to back, each counted on the air', async () => {
    const { pair, run } = setup({ adversary: ({ index }) => (index === 0 ? { type: 'duplicate', count: 2 } : undefined) });
    await run(pair.phone.send(patternMessage(10, 1)));
    await run(pair.phone.send(patternMessage(10, 2)));
    const got = await drain((o) => pair.vehicle.receive(o), run);
    expect(got).toEqual([patternMessage(10, 1), patternMessage(10, 1), patternMessage(10, 1), patternMessage(10, 2)]);
    expect(pair.stats.toVehicle).toMatchObject({ messages: 4, delivered: 4 });
  });

  it('duplicate defaults to one extra copy', async () => {
    const { pair, run } = setup({ adversary: () => ({ type: 'duplicate' }) });
    await run(pair.phone.send(patternMessage(10)));
    expect(await drain((o) => pair.vehicle.receive(o), run)).toHaveLength(2);
  });

  it('an action list combines copies: deliver now and replay later', async () => {
    const { pair, run, trace } = setup({
      adversary: ({ index }) => (index === 0 ? [{ type: 'deliver' }, { type: 'delay', ms: 500 }] : undefined),
    });
    await run(pair.phone.send(patternMessage(10, 1)));
    const got = await drain((o) => pair.vehicle.receive(o), run);
    expect(got).toEqual([patternMessage(10, 1), patternMessage(10, 1)]);
    expect(trace.filter((e) => e.type === 'message').map((e) => e.timeMs)).toEqual([15, 510]);
  });

  it('targets one direction only when asked', async () => {
    const { pair, run } = setup({ adversary: ({ direction }) => (direction === 'toPhone' ? { type: 'drop' } : undefined) });
    await run(pair.phone.send(patternMessage(5)));
    await run(pair.vehicle.send(patternMessage(6)));
    expect(await run(pair.vehicle.receive())).toEqual(patternMessage(5));
    expectRejected(await run(capture(pair.phone.receive({ timeoutMs: 1_000 }))), TimeoutError, 'LINK_TIMEOUT');
  });

  const malformed: Array<[string, unknown]> = [
    ['unknown type', { type: 'teleport' }],
    ['null', null],
    ['modify without bytes', { type: 'modify' }],
    ['modify to empty', { type: 'modify', bytes: new Uint8Array(0) }],
    ['modify beyond u16', { type: 'modify', bytes: new Uint8Array(65_536) }],
    ['negative delay', { type: 'delay', ms: -5 }],
    ['NaN delay', { type: 'delay', ms: Number.NaN }],
    ['duplicate 0', { type: 'duplicate', count: 0 }],
    ['duplicate 1000', { type: 'duplicate', count: 1_000 }],
    ['bad entry in a list', [{ type: 'deliver' }, 7]],
  ];
  it.each(malformed)('a malformed answer (%s) rejects the send with UsageError', async (_name, answer) => {
    const { pair, run } = setup({ adversary: () => answer as AdversaryAction });
    expectRejected(await capture(pair.phone.send(patternMessage(5))), UsageError, 'MOCK_BAD_ADVERSARY_ACTION');
    expect(pair.phone.isClosed).toBe(false);
    expect(await drain((o) => pair.vehicle.receive(o), run)).toEqual([]);
  });
});

describe('mock adversary: inject and replay', () => {
  it('replays a captured message at any later time', async () => {
    const captured: Uint8Array[] = [];
    const { pair, run, clock } = setup({ adversary: (e) => void captured.push(e.bytes) });
    await run(pair.phone.send(patternMessage(40, 1)));
    expect(await run(pair.vehicle.receive())).toEqual(patternMessage(40, 1));
    await clock.advance(60_000);
    await run(pair.inject('toVehicle', captured[0] as Uint8Array));
    expect(await run(pair.vehicle.receive())).toEqual(patternMessage(40, 1));
    expect(captured).toHaveLength(1); // injections bypass the adversary
    expect(pair.stats.toVehicle).toMatchObject({ messages: 2, delivered: 2 });
  });

  it('injects towards the phone and resolves when the message has landed', async () => {
    const { pair, run, clock } = setup();
    await clock.advance(20);
    await run(pair.inject('toPhone', patternMessage(8)));
    expect(clock.now()).toBe(30);
    expect(await run(pair.phone.receive())).toEqual(patternMessage(8));
  });

  it('keeps order with the sender’s own messages', async () => {
    const { pair, run } = setup();
    const sends = Promise.all([pair.phone.send(patternMessage(5, 1)), pair.inject('toVehicle', patternMessage(5, 2)), pair.phone.send(patternMessage(5, 3))]);
    await run(sends);
    expect(await drain((o) => pair.vehicle.receive(o), run)).toEqual([1, 2, 3].map((s) => patternMessage(5, s)));
  });

  it('rejects bad injections with UsageError and injections on a dead radio with TransportError', async () => {
    const { pair, run } = setup({ mtu: 23 });
    for (const [direction, bytes] of [
      ['sideways', patternMessage(3)],
      ['toVehicle', new Uint8Array(0)],
      ['toVehicle', 'bytes'],
    ] as const) {
      expectRejected(await capture(pair.inject(direction as 'toVehicle', bytes as Uint8Array)), UsageError);
    }
    expectRejected(await capture(pair.injectChunk('toVehicle', new Uint8Array(21))), UsageError, 'MOCK_BAD_INJECTION');
    const inFlight = capture(pair.inject('toVehicle', patternMessage(500)));
    pair.disconnect();
    expectRejected(await run(inFlight), TransportError, 'LINK_CLOSED');
    expectRejected(await capture(pair.inject('toPhone', patternMessage(3))), TransportError, 'LINK_CLOSED');
    expectRejected(await capture(pair.injectChunk('toPhone', patternMessage(3))), TransportError, 'LINK_CLOSED');
  });
});

describe('mock adversary: chunk level (framing attacks)', () => {
  /** Expects a clean message to get through after the attack: the receiver recovered. */
  async function expectRecovers(s: ReturnType<typeof setup>): Promise<void> {
    await s.run(s.pair.phone.send(patternMessage(60, 42)));
    const got = await drain((o) => s.pair.vehicle.receive(o), s.run);
    expect(got).toEqual([patternMessage(60, 42)]);
  }

  const garbage: Array<[string, number[], string]> = [
    ['a zero declared length', [0x00, 0x00, 0x01], 'FRAME_EMPTY'],
    ['a declared length over the maximum', [0x10, 0x01, 0xaa], 'FRAME_TOO_LARGE'],
    ['an empty GATT write', [], 'FRAME_EMPTY_CHUNK'],
    ['a 1-byte first chunk', [0x00], 'FRAME_SHORT_HEADER'],
  ];
  it.each(garbage)('drops and counts a chunk with %s, then carries on', async (_name, bytes, code) => {
    const s = setup({ mtu: 23 });
    await s.run(s.pair.injectChunk('toVehicle', new Uint8Array(bytes)));
    expect(s.pair.stats.toVehicle.reassemblyErrors).toBe(1);
    expect(s.trace.find((e) => e.type === 'reassembly-error')?.detail).toBe(code);
    await expectRecovers(s);
  });

  it('a chunk that runs past its message is refused (overflow)', async () => {
    const s = setup({ mtu: 23 });
    // Declares 3 bytes but carries 5.
    await s.run(s.pair.injectChunk('toVehicle', new Uint8Array([0x00, 0x03, 1, 2, 3, 4, 5])));
    expect(s.trace.find((e) => e.type === 'reassembly-error')?.detail).toBe('FRAME_OVERFLOW');
    await expectRecovers(s);
  });

  it('a stale partial message is dropped after the inter-chunk timeout and does not swallow the next message', async () => {
    const s = setup({ mtu: 23, interChunkTimeoutMs: 2_000 });
    await s.run(s.pair.injectChunk('toVehicle', new Uint8Array([0x00, 0x40, 1, 2, 3]))); // 64 declared, 3 sent
    await s.clock.advance(2_001);
    expect(s.pair.stats.toVehicle.reassemblyErrors).toBe(1);
    expect(s.trace.find((e) => e.type === 'reassembly-error')?.detail).toBe('FRAME_TIMEOUT');
    await expectRecovers(s);
  });

  it('a dropped middle chunk loses that message; the receiver recovers after the inter-chunk timeout', async () => {
    const s = setup({ mtu: 23, chunkAdversary: ({ index }) => (index === 1 ? { type: 'drop' } : undefined) });
    await s.run(s.pair.phone.send(patternMessage(50, 1))); // 3 chunks, the middle one lost
    await s.clock.advance(3_000);
    expect(s.pair.stats.toVehicle).toMatchObject({ chunksDropped: 1, delivered: 0, reassemblyErrors: 1 });
    await expectRecovers(s);
  });

  it('a flipped payload bit is delivered as is: the link has no integrity check', async () => {
    const s = setup({
      mtu: 23,
      chunkAdversary: ({ index, bytes }) => {
        if (index !== 1) return undefined;
        const flipped = bytes.slice();
        flipped[0] = (flipped[0] as number) ^ 0x01;
        return { type: 'modify', bytes: flipped };
      },
    });
    const m = patternMessage(50, 1);
    await s.run(s.pair.phone.send(m));
    const got = await s.run(s.pair.vehicle.receive());
    const expected = m.slice();
    expected[18] = (expected[18] as number) ^ 0x01; // chunk 1 starts at framed offset 20 = message offset 18
    expect(got).toEqual(expected);
  });

  it('sees every chunk in arrival order with its index and time', async () => {
    const seen: Array<Omit<ChunkAdversaryEvent, 'bytes'> & { size: number }> = [];
    const s = setup({ mtu: 23, packetsPerEvent: 2, chunkAdversary: (e) => void seen.push({ direction: e.direction, index: e.index, timeMs: e.timeMs, size: e.bytes.length }) });
    await s.run(s.pair.phone.send(patternMessage(45))); // 47 framed: 20 + 20 + 7
    expect(seen).toEqual([
      { direction: 'toVehicle', index: 0, timeMs: 15, size: 20 },
      { direction: 'toVehicle', index: 1, timeMs: 15, size: 20 },
      { direction: 'toVehicle', index: 2, timeMs: 30, size: 7 },
    ]);
  });

  it('refuses a modified chunk the radio could not carry (UsageError out of the clock driver)', async () => {
    const s = setup({ mtu: 23, chunkAdversary: () => ({ type: 'modify', bytes: new Uint8Array(21) }) });
    await expect(s.run(s.pair.phone.send(patternMessage(5)))).rejects.toBeInstanceOf(UsageError);
  });
});
