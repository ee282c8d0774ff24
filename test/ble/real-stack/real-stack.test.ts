/**
 * noble and bleno end to end over BlueZ's controller emulator (btvirt): the phone's and the
 * vehicle's real HCI, L2CAP, ATT, GATT and GAP code, with emulated controllers sharing a radio.
 * The fake-radio tests (test/ble/*.test.ts) cover what the emulator cannot make happen.
 *
 * One file on purpose: btvirt's sockets are fixed paths, one emulator per machine, so the
 * scenarios run in sequence against the one this file starts. In CI the emulator must be there
 * (.ci/run runs setup.sh); elsewhere its absence skips this file with one line.
 */
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { emulatorMissing, startEmulator, type Emulator } from './emulator.js';
import { vanishAll } from './stack.js';
import { conformanceScenarios } from './conformance.scenarios.js';
import { exampleScenarios } from './examples.scenarios.js';
import { failureScenarios } from './failures.scenarios.js';
import { unlockScenarios } from './unlock.scenarios.js';

const missing = emulatorMissing();
if (missing !== null && process.env.CI === 'true') {
  throw new Error(`real-stack BLE tests cannot run in CI: ${missing} (.ci/run calls it before npm test)`);
}
if (missing !== null) console.warn(`real-stack BLE tests skipped: ${missing}`);

// retry: 1 — the emulator has no air time, so rare timing races between two stacks (seen: a
// rotation scenario once) must not fail CI; a real failure fails twice. See the closing note.
describe.skipIf(missing !== null)('real stack: noble ↔ bleno over btvirt', { retry: 1 }, () => {
  let emulator: Emulator | undefined;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterEach(() => vanishAll());
  afterAll(async () => {
    vanishAll();
    await emulator?.stop();
  });

  unlockScenarios();
  failureScenarios();
  conformanceScenarios();
  exampleScenarios();
});
