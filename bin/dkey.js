#!/usr/bin/env node
/**
 * The `dkey` launcher. Installed from npm it runs the compiled CLI in dist/. In a clone of the
 * repository (a .git beside package.json) it runs the TypeScript sources through tsx, so
 * `npx dkey` works without a build and never runs a stale dist/.
 */
import { existsSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const fromSource = existsSync(new URL('.git', root)) && existsSync(new URL('src/cli/main.ts', root));
let cli;
if (fromSource) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('src/cli/main.ts', root).href);
} else if (existsSync(new URL('dist/cli/main.js', root))) {
  cli = await import(new URL('dist/cli/main.js', root).href);
} else {
  process.stderr.write('dkey is not built: run "npm run build" in the package, or install ble-digital-key from npm.\n');
  process.exit(1);
}
const code = await cli.main(process.argv.slice(2));
process.exitCode = code;
// Let stdout drain and the event loop empty; a handle left open (a BLE stack) must not hang the shell.
setTimeout(() => process.exit(code), 2_000).unref();
