/**
 * `npm run example:web` — builds the web key page and serves it on http://localhost:8080.
 *
 *   npm run example:web -- [--port 8080] [--out DIR]
 *
 * Web Bluetooth needs a secure context: http://localhost counts, a LAN address does not. On an
 * Android phone, forward the port over USB (`adb reverse tcp:8080 tcp:8080`) and open
 * http://localhost:8080 in Chrome; or `--out DIR` writes index.html and app.js for any https host.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, out: { type: 'string' } } });
  const out = await build({ entryPoints: [join(here, 'app.ts')], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2020', minify: true, logLevel: 'warning' });
  const files: Record<string, { type: string; body: string }> = {
    '/index.html': { type: 'text/html; charset=utf-8', body: readFileSync(join(here, 'index.html'), 'utf8') },
    '/app.js': { type: 'text/javascript', body: out.outputFiles[0]?.text ?? '' },
  };
  if (values.out !== undefined) {
    mkdirSync(values.out, { recursive: true });
    for (const [path, f] of Object.entries(files)) writeFileSync(join(values.out, path), f.body);
    console.log(`wrote ${Object.keys(files).join(', ')} to ${values.out}: serve them over https`);
    return;
  }
  const port = Number(values.port);
  createServer((req, res) => {
    const f = files[req.url === '/' ? '/index.html' : (req.url ?? '')];
    res.statusCode = f === undefined ? 404 : 200;
    if (f !== undefined) res.setHeader('content-type', f.type);
    res.end(f?.body ?? '');
  }).listen(port, '127.0.0.1', () => {
    console.log(`web key page on http://localhost:${port}  (phone: adb reverse tcp:${port} tcp:${port}, then open it in Chrome)`);
  });
}

void main();
