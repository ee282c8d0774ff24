/**
 * `npm run size` — what each phone-side entry costs an app: bundled with esbuild for the browser
 * (ES2020, minified, tree-shaken as an app importing everything would get it), then gzipped.
 * The core entry is the budget line (issue 11: at most +10% over ~47 kB).
 *
 *   npm run size -- [--json]
 */
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** Entries measured: what a phone app imports. */
const PHONE_APP = "export { Phone, PhoneStore, createNobleProvider, createSoftwareSigner, createMemoryVault, COMMAND, DigitalKeyError } from './src/index.ts';";
const ENTRIES: Record<string, string> = {
  'phone app (core)': PHONE_APP,
  'phone app + ble/web': `${PHONE_APP}\nexport * from './src/ble/web.ts';`,
  'phone app + ble/react-native': `${PHONE_APP}\nexport * from './src/ble/react-native.ts';`,
  'whole core entry': "export * from './src/index.ts';",
  'ble (platform-neutral)': "export * from './src/ble/index.ts';",
};

/** Bundle of a synthetic app module `contents` (its exports keep what it uses alive). */
async function measure(contents: string): Promise<{ minBytes: number; gzipBytes: number }> {
  const out = await build({
    stdin: { contents, resolveDir: process.cwd(), sourcefile: 'app.ts', loader: 'ts' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    logLevel: 'silent',
  });
  const bytes = out.outputFiles[0]?.contents ?? new Uint8Array(0);
  return { minBytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
}

async function main(): Promise<void> {
  const rows: Array<{ entry: string; minBytes: number; gzipBytes: number }> = [];
  for (const [entry, files] of Object.entries(ENTRIES)) rows.push({ entry, ...(await measure(files)) });
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  for (const r of rows) console.log(`${r.entry.padEnd(30)} ${(r.minBytes / 1000).toFixed(1).padStart(7)} kB min  ${(r.gzipBytes / 1000).toFixed(1).padStart(6)} kB min+gzip`);
}

void main();
