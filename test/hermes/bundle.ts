/**
 * Builds one script from an entry for Hermes the way a React Native app gets it: the modules
 * are joined into one script (esbuild does the resolution and joining Metro's serializer does,
 * tree-shaken), then Babel with @react-native/babel-preset lowers the whole script as Metro's
 * transformer lowers each module (classes, async functions, generators, optional chaining,
 * block scoping, destructuring, …).
 *
 * One Babel pass over the joined script instead of one per module keeps the test fast (a few
 * seconds, not a minute); the plugins and their output are the same.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { transformAsync } from '@babel/core';
import { build } from 'esbuild';

/** Babel's output per input, so re-runs skip the slow pass (a fresh CI machine does it once). */
const CACHE_DIR = join('node_modules', '.cache', 'ble-digital-key-hermes');

/**
 * The transform profile of a React Native app on Hermes 0.12 (legacy Hermes, RN < 0.85):
 * `default` lowers classes and async functions. The preset's own default since RN 0.8x,
 * `hermes-stable`, targets Hermes V1 and keeps them, which Hermes 0.12 cannot parse.
 */
const RN_PRESET = ['@react-native/babel-preset', { unstable_transformProfile: 'default', enableBabelRuntime: false, dev: false }] as const;

/** The bundle of `entry` as a single script for Hermes, with `banner` in front of it. */
export async function bundleForHermes(entry: string, banner = ''): Promise<string> {
  const joined = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'neutral',
    mainFields: ['react-native', 'browser', 'module', 'main'],
    conditions: ['react-native', 'browser', 'import', 'default'],
    // What tsc emits for dist/ (tsconfig target ES2022): Babel does all the lowering.
    target: 'es2022',
    banner: banner ? { js: banner } : undefined,
    logLevel: 'silent',
  });
  const input = joined.outputFiles[0]!.text;
  const key = createHash('sha256').update(JSON.stringify(RN_PRESET)).update(await presetVersion()).update(input).digest('hex').slice(0, 32);
  const cached = join(CACHE_DIR, `${key}.js`);
  const hit = await readFile(cached, 'utf8').catch(() => null);
  if (hit !== null) return hit;
  const out = await transformAsync(input, {
    filename: 'index.bundle.js',
    babelrc: false,
    configFile: false,
    compact: false,
    presets: [[RN_PRESET[0], { ...RN_PRESET[1] }]],
    sourceType: 'script',
  });
  if (!out?.code) throw new Error('babel produced no output');
  await mkdir(CACHE_DIR, { recursive: true });
  await writeFile(cached, out.code);
  return out.code;
}

async function presetVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join('node_modules', '@react-native', 'babel-preset', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
