/**
 * Real headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core
 * (`npx playwright install` cannot work here), code bundled for the page with esbuild, pages
 * served from 127.0.0.1 as http://localhost (a secure context, as Web Bluetooth requires).
 *
 * Without /usr/bin/chromium the tests skip with one line, except in CI (CI=true), where they fail:
 * .ci/run installs the package.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type BrowserContext } from 'playwright-core';

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags from the issue: headless, no sandbox (root in a container), nothing phoning home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Whether the browser tests can run; prints the one line when they skip. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${CHROMIUM_PATH} is missing: .ci/run must install Debian's chromium`);
  console.warn(`browser tests skipped: ${CHROMIUM_PATH} is missing (apt-get install -y chromium to enable them)`);
  return false;
}

/** A launched browser with a fresh profile, and how to close it. */
export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh user-data dir; `extraArgs` e.g. `--enable-features=WebBluetooth`. */
export async function launch(extraArgs: string[] = []): Promise<Browser> {
  const dir = mkdtempSync(join(tmpdir(), 'dk-chromium-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Bundles `entry` for the browser (one IIFE, ES2020, no Node built-ins). */
export async function bundle(entry: string, options: { minify?: boolean } = {}): Promise<string> {
  const out = await build({ entryPoints: [entry], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2020', minify: options.minify ?? false, logLevel: 'silent' });
  const file = out.outputFiles[0];
  if (file === undefined) throw new Error('esbuild produced nothing');
  return file.text;
}

/** Serves `files` (path → content) on 127.0.0.1; returns the base URL on localhost. */
export async function serve(files: Record<string, string | Buffer>): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const body = files[path === '/' ? '/index.html' : path];
    if (body === undefined) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', path.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8');
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { url: `http://localhost:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
