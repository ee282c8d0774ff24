import { describe, expect, it } from 'vitest';
import { STATUS } from '../../src/protocol/constants.js';
import { VirtualClock } from '../../src/transport/mock/index.js';
import { startHandlerRun, type CommandHandler } from '../../src/vehicle/run-handler.js';

const ctx = { command: 1, keyId: '00', keyName: 'k', role: 'owner' as const, path: 'fast' as const, userPresent: false };

describe('startHandlerRun', () => {
  it('a synchronous handler settles with no timer armed', async () => {
    const clock = new VirtualClock(0);
    const run = startHandlerRun(() => Uint8Array.of(7), ctx, clock, 1000);
    expect(clock.pendingTimers).toBe(0);
    expect(await run.result).toEqual({ status: STATUS.ok, data: Uint8Array.of(7) });
    expect(await run.settled).toEqual(await run.result);
  });

  it('a synchronous throw is HANDLER_FAILED with the message for the audit log', async () => {
    const clock = new VirtualClock(0);
    const run = startHandlerRun(() => {
      throw new Error('relay stuck');
    }, ctx, clock, 1000);
    expect(await run.result).toEqual({ status: STATUS.handlerFailed, detail: 'relay stuck' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('an async handler still races its deadline, and its signal aborts then', async () => {
    const clock = new VirtualClock(0);
    let aborted = false;
    const slow: CommandHandler = ({ signal }) =>
      new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => (aborted = true));
        clock.setTimeout(resolve, 5000);
      });
    const run = startHandlerRun(slow, ctx, clock, 1000);
    const outcome = await clock.runUntilSettled(run.result);
    expect(outcome.status).toBe(STATUS.handlerTimeout);
    expect(run.isDeadline(outcome)).toBe(true);
    expect(aborted).toBe(true);
    expect(await clock.runUntilSettled(run.settled)).toEqual({ status: STATUS.ok });
  });

  it('an async handler that finishes in time gives its own outcome and clears the deadline', async () => {
    const clock = new VirtualClock(0);
    const run = startHandlerRun(async () => Uint8Array.of(1, 2), ctx, clock, 1000);
    expect(await clock.runUntilSettled(run.result)).toEqual({ status: STATUS.ok, data: Uint8Array.of(1, 2) });
    expect(clock.pendingTimers).toBe(0);
  });
});
