/**
 * Shared set-up for the mock link tests: a virtual clock, a pair, and a trace recorder.
 */

import { createMockLinkPair, VirtualClock } from '../../src/transport/mock/index.js';
import type { MockLinkOptions, MockLinkPair, MockTraceEvent } from '../../src/transport/mock/index.js';
import type { LinkPairHarness } from './link-conformance.js';

/** A mock pair on a fresh virtual clock, recording its trace. */
export interface MockSetup {
  clock: VirtualClock;
  pair: MockLinkPair;
  trace: MockTraceEvent[];
  /** Drives the clock until `p` settles. */
  run<T>(p: Promise<T>): Promise<T>;
}

/** Creates a pair with `options` on a virtual clock starting at `startMs`. */
export function setup(options: Omit<MockLinkOptions, 'clock'> = {}, startMs = 0): MockSetup {
  const clock = new VirtualClock(startMs);
  const trace: MockTraceEvent[] = [];
  const pair = createMockLinkPair({ clock, trace: (e) => trace.push(e), ...options });
  return { clock, pair, trace, run: (p) => clock.runUntilSettled(p) };
}

/**
 * A conformance harness over the mock. Teardown closes both ends and checks that no timer is
 * left behind: a leaked timer would keep a real event loop alive.
 */
export function mockHarness(options: Omit<MockLinkOptions, 'clock'> = {}): () => Promise<LinkPairHarness> {
  return async () => {
    const { clock, pair, run } = setup(options);
    return {
      a: pair.phone,
      b: pair.vehicle,
      run,
      disconnect: async () => pair.disconnect('test pulled the plug'),
      teardown: async () => {
        await pair.phone.close('teardown');
        await pair.vehicle.close('teardown');
        if (clock.pendingTimers !== 0) throw new Error(`${clock.pendingTimers} timers leaked`);
      },
    };
  };
}
