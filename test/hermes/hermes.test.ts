/**
 * The core in the real Hermes VM (hermes-engine-cli 0.12.0, the engine of React Native before
 * 0.85): the library bundled as Metro bundles it for an app (test/hermes/bundle.ts), run with
 * React Native's Hermes flags and the globals React Native adds (test/hermes/prelude.js), and
 * NO TextEncoder/TextDecoder. Owner pairing, a full unlock and a fast unlock must complete
 * inside Hermes; the scenario prints its results, which are checked here.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleForHermes } from './bundle.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const HERMES = fileURLToPath(new URL('../../node_modules/hermes-engine-cli/linux64-bin/hermes', import.meta.url));
/** How React Native starts Hermes: ES6 promises and a microtask queue (Hermes 0.12 flags). */
const RN_FLAGS = ['-Xes6-promise', '-Xmicrotask-queue'];
const available = process.platform === 'linux' && process.arch === 'x64' && existsSync(HERMES);
if (!available && process.env.CI !== 'true') console.log('hermes test skipped: needs linux-x64 and `npm ci` (devDependency hermes-engine-cli 0.12.0)');

function runHermes(file: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(HERMES, [...RN_FLAGS, file], { timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

// In CI the runtime must be there: a missing binary fails here instead of skipping.
describe.skipIf(!available && process.env.CI !== 'true')('core in Hermes 0.12 (React Native)', () => {
  let dir: string;
  let prelude: string;
  let bundle: string;

  beforeAll(async () => {
    expect(existsSync(HERMES), `hermes binary at ${HERMES}`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), 'bdk-hermes-'));
    prelude = await readFile(join(here, 'prelude.js'), 'utf8');
    bundle = await bundleForHermes(join(here, 'scenario.ts'));
  }, 240_000);

  it('the bundle is lowered for legacy Hermes: no class or async syntax left', () => {
    expect(bundle).not.toMatch(/\bclass\s+[A-Za-z_$][\w$]*\s*(extends\b[^{]*)?\{/);
    expect(bundle).not.toMatch(/\basync\s+function\b/);
  });

  it('pairs, unlocks on the full path, then on the fast path, inside Hermes without TextEncoder/TextDecoder', async () => {
    const file = join(dir, 'app.js');
    await writeFile(file, `${prelude}\n${bundle}`);
    const { code, out } = await runHermes(file);
    const line = out.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line, out.slice(0, 2000)).toBeDefined();
    expect(code).toBe(0);
    const r = JSON.parse(line!.slice('RESULT '.length));
    expect(r).toEqual({
      engine: 'hermes',
      textEncoder: 'undefined',
      textDecoder: 'undefined',
      paired: 16,
      keys: ['hermes phone/owner'],
      results: [
        { path: 'full', code: 'OK' },
        { path: 'resume', code: 'OK' },
      ],
      // Handlers see a resumed session as a ticket (`fast`) path.
      unlocked: ['full', 'fast'],
    });
  }, 60_000);

  it('a module-level TextDecoder, as the core had before, fails at load in Hermes', async () => {
    const file = join(dir, 'with-textdecoder.js');
    await writeFile(file, `${prelude}\nvar decoder = new TextDecoder('utf-8', { fatal: true });\n${bundle}`);
    const { code, out } = await runHermes(file);
    expect(code).not.toBe(0);
    expect(out).toMatch(/ReferenceError: Property 'TextDecoder' doesn't exist/);
    expect(out).not.toContain('RESULT ');
  }, 60_000);

  it('without the getRandomValues polyfill, the first key generation is the typed NO_RANDOM_SOURCE error with its fix', async () => {
    const file = join(dir, 'no-random.js');
    await writeFile(file, `${prelude}\nglobalThis.crypto = undefined;\n${bundle}`);
    const { out } = await runHermes(file);
    expect(out).toContain('FAILED UsageError NO_RANDOM_SOURCE');
    expect(out).toContain('install react-native-get-random-values and import it first');
  }, 60_000);
});
