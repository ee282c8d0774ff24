import { describe, expect, it } from 'vitest';
import { AbortError, TimeoutError, TransportError, UsageError } from '../../src/errors.js';
import { MessageInbox } from '../../src/transport/inbox.js';
import type { LinkCloseInfo } from '../../src/transport/link.js';
import { VirtualClock } from '../../src/transport/mock/index.js';
import { capture, expectRejected } from './link-conformance.js';

const bytes = (n: number): Uint8Array => Uint8Array.of(n);
const INFO: LinkCloseInfo = { by: 'remote', reason: 'gone' };

describe('MessageInbox', () => {
  it('hands messages to waiting receivers first come, first served', async () => {
    const inbox = new MessageInbox(new VirtualClock(), 2);
    const first = inbox.receive();
    const second = inbox.receive();
    expect(inbox.deliver(bytes(1))).toBe(true);
    expect(inbox.deliver(bytes(2))).toBe(true);
    expect(await first).toEqual(bytes(1));
    expect(await second).toEqual(bytes(2));
    expect(inbox.queued).toBe(0);
  });

  it('queues in order up to the bound and refuses the message past it', async () => {
    const inbox = new MessageInbox(new VirtualClock(), 2);
    expect(inbox.deliver(bytes(1))).toBe(true);
    expect(inbox.deliver(bytes(2))).toBe(true);
    expect(inbox.deliver(bytes(3))).toBe(false);
    expect(inbox.queued).toBe(2);
    expect(await inbox.receive()).toEqual(bytes(1));
    expect(await inbox.receive()).toEqual(bytes(2));
  });

  it('drops a receiver that timed out or was aborted, so it swallows no later message', async () => {
    const clock = new VirtualClock();
    const inbox = new MessageInbox(clock, 4);
    const timedOut = capture(inbox.receive({ timeoutMs: 10 }));
    const controller = new AbortController();
    const aborted = capture(inbox.receive({ signal: controller.signal }));
    controller.abort();
    await clock.advance(10);
    expectRejected(await timedOut, TimeoutError, 'LINK_TIMEOUT');
    expectRejected(await aborted, AbortError);
    expect(inbox.deliver(bytes(7))).toBe(true);
    expect(inbox.queued).toBe(1);
  });

  it('rejects bad options and an already-aborted signal without waiting', async () => {
    const inbox = new MessageInbox(new VirtualClock(), 1);
    inbox.deliver(bytes(1));
    expectRejected(await capture(inbox.receive({ timeoutMs: -1 })), UsageError, 'LINK_BAD_OPTIONS');
    expectRejected(await capture(inbox.receive({ signal: AbortSignal.abort() })), AbortError);
    expect(inbox.queued).toBe(1);
  });

  it('on close: rejects receivers, settles the owner with isClosed set, then tells listeners even if that throws', async () => {
    const inbox = new MessageInbox(new VirtualClock(), 4);
    const pending = capture(inbox.receive());
    const order: string[] = [];
    inbox.onClose((info) => order.push(`listener ${info.reason}`));
    const unsubscribed = inbox.onClose(() => order.push('unsubscribed'));
    unsubscribed();
    const close = (): boolean =>
      inbox.close(INFO, () => {
        order.push(`settle, closed=${inbox.isClosed}`);
        throw new Error('owner cleanup failed');
      });
    expect(close).toThrow('owner cleanup failed');
    expect(order).toEqual(['settle, closed=true', 'listener gone']);
    expectRejected(await pending, TransportError, 'LINK_CLOSED');
  });

  it('closes once; afterwards receive rejects and listeners run at once', async () => {
    const inbox = new MessageInbox(new VirtualClock(), 4);
    inbox.deliver(bytes(1));
    expect(inbox.close(INFO)).toBe(true);
    expect(inbox.close({ by: 'local', reason: 'again' })).toBe(false);
    expect(inbox.closeInfo).toEqual(INFO);
    expect(inbox.queued).toBe(0);
    expectRejected(await capture(inbox.receive()), TransportError, 'LINK_CLOSED');
    const seen: LinkCloseInfo[] = [];
    inbox.onClose((info) => seen.push(info))();
    expect(seen).toEqual([INFO]);
  });
});
