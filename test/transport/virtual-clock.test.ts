import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimeoutError, UsageError } from '../../src/errors.js';
import { VirtualClock } from '../../src/transport/mock/index.js';

describe('VirtualClock: time and timers', () => {
  it('starts at 0 or at the given epoch and does not move by itself', async () => {
    expect(new VirtualClock().now()).toBe(0);
    const clock = new VirtualClock(1_700_000_000_000);
    await new Promise((r) => setTimeout(r, 5));
    expect(clock.now()).toBe(1_700_000_000_000);
  });

  it('rejects a non-finite start and a non-function callback', () => {
    expect(() => new VirtualClock(Number.NaN)).toThrow(UsageError);
    expect(() => new VirtualClock().setTimeout('x' as unknown as () => void, 1)).toThrow(UsageError);
  });

  it('fires timers by due time, then in the order they were set', async () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    clock.setTimeout(() => order.push('b@20'), 20);
    clock.setTimeout(() => order.push('a@10'), 10);
    clock.setTimeout(() => order.push('c@20'), 20);
    clock.setTimeout(() => order.push('d@0'), 0);
    expect(clock.pendingTimers).toBe(4);
    expect(clock.nextTimerAtMs).toBe(0);
    await clock.advance(20);
    expect(order).toEqual(['d@0', 'a@10', 'b@20', 'c@20']);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.nextTimerAtMs).toBeUndefined();
  });

  it('treats a negative or non-finite delay as 0', async () => {
    const clock = new VirtualClock(100);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), -5);
    clock.setTimeout(() => fired.push(clock.now()), Number.NaN);
    await clock.advance(0);
    expect(fired).toEqual([100, 100]);
  });

  it('clearTimeout cancels; unknown and fired handles are ignored', async () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    const a = clock.setTimeout(() => fired.push('a'), 5);
    clock.setTimeout(() => fired.push('b'), 5);
    clock.clearTimeout(a);
    clock.clearTimeout(a);
    clock.clearTimeout(12345);
    clock.clearTimeout({});
    await clock.advance(10);
    clock.clearTimeout(a);
    expect(fired).toEqual(['b']);
  });

  it('property: fire order is the stable sort of (due time, creation order)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 40 }), async (delays) => {
        const clock = new VirtualClock();
        const fired: number[] = [];
        delays.forEach((d, i) => clock.setTimeout(() => fired.push(i), d));
        await clock.advance(50);
        const expected = delays.map((d, i) => ({ d, i })).sort((x, y) => x.d - y.d || x.i - y.i).map((x) => x.i);
        expect(fired).toEqual(expected);
      }),
      { numRuns: 50 },
    );
  });
});

describe('VirtualClock: advance', () => {
  it('lets promise chains run between timers, so a timer they set inside the window fires in order', async () => {
    const clock = new VirtualClock();
    const order: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    void gate
      .then(() => Promise.resolve())
      .then(() => clock.setTimeout(() => order.push(clock.now()), 5));
    clock.setTimeout(() => {
      order.push(clock.now());
      release();
    }, 10);
    clock.setTimeout(() => order.push(clock.now()), 20);
    await clock.advance(30);
    expect(order).toEqual([10, 15, 20]);
  });

  it('ends exactly at the target and leaves later timers pending', async () => {
    const clock = new VirtualClock();
    let fired = false;
    clock.setTimeout(() => (fired = true), 100);
    await clock.advance(99.5);
    expect(clock.now()).toBe(99.5);
    expect(fired).toBe(false);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(0.5);
    expect(fired).toBe(true);
  });

  it('rejects a negative or non-finite duration', async () => {
    const clock = new VirtualClock();
    await expect(clock.advance(-1)).rejects.toBeInstanceOf(UsageError);
    await expect(clock.advance(Number.POSITIVE_INFINITY)).rejects.toBeInstanceOf(UsageError);
  });

  it('rejects with what a timer callback throws', async () => {
    const clock = new VirtualClock();
    clock.setTimeout(() => {
      throw new Error('timer bug');
    }, 1);
    await expect(clock.advance(5)).rejects.toThrow('timer bug');
  });
});

describe('VirtualClock: runUntilSettled', () => {
  /** A promise resolved with `value` by a timer `ms` from now. */
  function after<T>(clock: VirtualClock, ms: number, value: T): Promise<T> {
    return new Promise((resolve) => clock.setTimeout(() => resolve(value), ms));
  }

  it('returns the value, stopping at the moment it settles even if later timers are pending', async () => {
    const clock = new VirtualClock();
    clock.setTimeout(() => {}, 500);
    expect(await clock.runUntilSettled(after(clock, 120, 'done'))).toBe('done');
    expect(clock.now()).toBe(120);
    expect(clock.pendingTimers).toBe(1);
  });

  it('follows a chain of timers and awaits', async () => {
    const clock = new VirtualClock();
    const chain = (async () => {
      let total = 0;
      for (let i = 1; i <= 5; i++) total += await after(clock, i * 10, i);
      return total;
    })();
    expect(await clock.runUntilSettled(chain)).toBe(15);
    expect(clock.now()).toBe(150);
  });

  it('rethrows the rejection', async () => {
    const clock = new VirtualClock();
    const failing = after(clock, 5, 0).then(() => {
      throw new Error('boom');
    });
    await expect(clock.runUntilSettled(failing)).rejects.toThrow('boom');
  });

  it('returns an already settled promise without moving time', async () => {
    const clock = new VirtualClock();
    clock.setTimeout(() => {}, 10);
    expect(await clock.runUntilSettled(Promise.resolve(7))).toBe(7);
    expect(clock.now()).toBe(0);
  });

  it('reports a deadlock: pending promise, no timer', async () => {
    const clock = new VirtualClock(42);
    const never = new Promise<void>(() => {});
    const error = await clock.runUntilSettled(never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).code).toBe('VIRTUAL_CLOCK_DEADLOCK');
    expect((error as UsageError).message).toMatch(/42 ms/);
  });

  it('gives up after maxMs of virtual time (a periodic timer that never settles anything)', async () => {
    const clock = new VirtualClock();
    const tick = (): void => void clock.setTimeout(tick, 100);
    tick();
    const error = await clock.runUntilSettled(new Promise(() => {}), { maxMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).code).toBe('VIRTUAL_TIME_LIMIT');
    expect(clock.now()).toBe(1_000);
  });

  it('gives up after maxTimers (a zero-delay timer loop that never moves time)', async () => {
    const clock = new VirtualClock();
    const spin = (): void => void clock.setTimeout(spin, 0);
    spin();
    const error = await clock.runUntilSettled(new Promise(() => {}), { maxTimers: 1_000 }).catch((e: unknown) => e);
    expect((error as TimeoutError).code).toBe('VIRTUAL_TIME_LIMIT');
    expect(clock.now()).toBe(0);
  });

  it('rejects bad options', async () => {
    const clock = new VirtualClock();
    await expect(clock.runUntilSettled(Promise.resolve(), { maxMs: -1 })).rejects.toBeInstanceOf(UsageError);
    await expect(clock.runUntilSettled(Promise.resolve(), { maxTimers: 1.5 })).rejects.toBeInstanceOf(UsageError);
  });

  it('lets concurrent drivers take turns instead of interleaving', async () => {
    const clock = new VirtualClock();
    const [x, y] = await Promise.all([
      clock.runUntilSettled(after(clock, 300, 'x')),
      clock.runUntilSettled(after(clock, 100, 'y')),
    ]);
    expect([x, y]).toEqual(['x', 'y']);
    expect(clock.now()).toBe(300);
  });

  it('a custom settle function is used between timers', async () => {
    let turns = 0;
    const clock = new VirtualClock(0, {
      settle: async () => {
        turns += 1;
        await new Promise((r) => setImmediate(r));
      },
    });
    await clock.runUntilSettled(after(clock, 10, null));
    expect(turns).toBe(2); // before the timer, then to see the promise settle
  });
});
