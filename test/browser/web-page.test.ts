/**
 * The web key page (examples/web) in real headless Chromium, on its simulated car: pair, unlock
 * (full path), lock (resume path), each step logged with messages, bytes and time. The real-car
 * buttons are disabled with the one-sentence reason, since Chromium on Linux has no Web
 * Bluetooth by default. `UPDATE_SCREENSHOTS=1` rewrites docs/img/web-key.png.
 */
import { readFileSync, mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, chromiumAvailable, launch, serve, type Browser } from './chromium.js';

const enabled = chromiumAvailable();

describe.runIf(enabled)('web key page in real headless Chromium', () => {
  let site: Awaited<ReturnType<typeof serve>>;
  let browser: Browser;

  beforeAll(async () => {
    const js = await bundle('examples/web/app.ts', { minify: true });
    site = await serve({ '/index.html': readFileSync('examples/web/index.html', 'utf8'), '/app.js': js });
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('pairs with the simulated car, unlocks (full path), locks (resume path), and shows each step', async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 820, height: 620 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${site.url}/`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.textContent('#bt-status')).toContain('BLE_UNAVAILABLE');
    expect(await page.isDisabled('#real-pair')).toBe(true);

    const step = async (button: string, name: string) => {
      await page.click(button);
      const row = await page.waitForSelector(`tr[data-car="simulated"][data-step="${name}"]`, { timeout: 30_000 });
      await page.waitForSelector('body[data-busy="false"]');
      return { ok: await row.getAttribute('data-ok'), cells: await row.$$eval('td', (tds) => tds.map((td) => td.textContent ?? '')) };
    };
    const pair = await step('#sim-pair', 'pair');
    expect(pair.ok).toBe('true');
    expect(await page.textContent('#sim-code')).toMatch(/^\d{6,}$/);
    const unlock = await step('#sim-unlock', 'unlock');
    expect(unlock.ok).toBe('true');
    expect(unlock.cells[2]).toContain('OK on the full path (car: unlocked)');
    const lock = await step('#sim-lock', 'lock');
    expect(lock.cells[2]).toContain('OK on the resume path (car: locked)');
    for (const row of [pair, unlock, lock]) {
      expect(Number(row.cells[3])).toBeGreaterThan(0);
      expect(row.cells[4]).toMatch(/^\d+ bytes$/);
      expect(row.cells[5]).toMatch(/^\d+(\.\d)? ms$/);
    }
    expect(errors).toEqual([]);
    if (process.env.UPDATE_SCREENSHOTS === '1') {
      mkdirSync('docs/img', { recursive: true });
      await page.screenshot({ path: 'docs/img/web-key.png', fullPage: true });
    }
  });
});
