/**
 * The core and the Web Bluetooth adapter in real headless Chromium (Debian's chromium via
 * playwright-core): pairing + full + resumed unlock over the mock link; the adapter against an
 * in-page simulated car; and the adapter's typed errors against Chromium's REAL
 * navigator.bluetooth: absent (Linux default), and enabled with no adapter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, chromiumAvailable, launch, serve, type Browser } from './chromium.js';

const enabled = chromiumAvailable();

describe.runIf(enabled)('in real headless Chromium', () => {
  let site: Awaited<ReturnType<typeof serve>>;
  let plain: Browser;

  beforeAll(async () => {
    const js = await bundle('test/browser/entry.ts');
    site = await serve({ '/index.html': '<!doctype html><meta charset="utf-8"><title>dk</title><script src="/entry.js"></script>', '/entry.js': js });
    plain = await launch();
  });

  afterAll(async () => {
    await plain?.close();
    await site?.close();
  });

  async function page(browser: Browser) {
    const p = await browser.context.newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(String(e)));
    await p.goto(`${site.url}/`);
    await p.waitForFunction(() => 'dk' in globalThis);
    return { p, errors };
  }

  it('the core pairs, then unlocks on the full path and the resume path over the mock link', async () => {
    const { p, errors } = await page(plain);
    const out = await p.evaluate(() => (globalThis as any).dk.runCore());
    expect(out.paths).toEqual(['full:OK', 'resume:OK']); // resume is the default once a ticket is held
    expect(out.executed).toEqual(['unlock/full', 'unlock/fast']); // handlers see a resumed session as the fast path
    expect(errors).toEqual([]);
  });

  it.each([185, 515])('the Web Bluetooth adapter unlocks a simulated car (full, then resumed) at ATT MTU %i, values ≤ 512 bytes', async (mtu) => {
    const { p, errors } = await page(plain);
    const out = await p.evaluate((m) => (globalThis as any).dk.runWebAdapter(m), mtu);
    expect(out.paths).toEqual(['full:OK', 'resume:OK']); // resume is the default once a ticket is held
    expect(out.linkMtu).toBe(mtu);
    expect(out.maxWritten).toBeLessThanOrEqual(Math.min(512, mtu - 3));
    expect(out.pendingTimers).toBe(0);
    expect(errors).toEqual([]);
  });

  it("without Web Bluetooth (Chromium on Linux by default): BLE_UNAVAILABLE with the one sentence", async () => {
    const { p } = await page(plain);
    const out = await p.evaluate(() => (globalThis as any).dk.probeReal());
    expect(out.get).toBe('BLE_UNAVAILABLE');
    expect(out.absentMessage).toContain('Firefox, Safari and every iOS browser');
  });

  describe('with --enable-features=WebBluetooth and no Bluetooth adapter', () => {
    let bt: Browser;
    beforeAll(async () => {
      bt = await launch(['--enable-features=WebBluetooth']);
    });
    afterAll(async () => {
      await bt?.close();
    });

    it('navigator.bluetooth is there; no adapter is BLE_UNAVAILABLE, from a click or not', async () => {
      const { p, errors } = await page(bt);
      const out = await p.evaluate(() => (globalThis as any).dk.probeReal());
      expect(out).toMatchObject({ get: 'ok', check: 'BLE_UNAVAILABLE' });
      await p.evaluate(() => (globalThis as any).dk.bindRequestButton());
      await p.click('#request');
      const clicked = await p.evaluate(() => (globalThis as any).requestOutcome);
      expect(clicked).toMatch(/^BLE_UNAVAILABLE: /);
      expect(await p.evaluate(() => (globalThis as any).dk.requestWithoutGesture())).toMatch(/^(BLE_UNAVAILABLE|BLE_USER_GESTURE): /);
      expect(errors).toEqual([]);
    });
  });
});
