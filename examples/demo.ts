/**
 * `npm run demo` — the library's main job, end to end, with no radio and no server.
 *
 * A vehicle key module (Node, node:crypto, an SQLite store in ./.demo-data) and phones (the
 * portable pure-JS crypto an app would use) talk over the mock BLE link with realistic timing:
 * 15 ms connection interval, ATT MTU 185. Each step prints the messages and bytes on the air
 * and the simulated time from subscription to result.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeProvider } from '../src/crypto/node.js';
import { createNobleProvider } from '../src/crypto/noble.js';
import { createSoftwareSigner } from '../src/crypto/signer.js';
import { toHex } from '../src/crypto/bytes.js';
import { createMemoryVault } from '../src/store/memory-vault.js';
import { createMockLinkPair, VirtualClock, type Adversary, type MockLinkPair } from '../src/transport/mock/index.js';
import { COMMAND, MGMT_COMMAND } from '../src/protocol/constants.js';
import { KeyArgSchema } from '../src/protocol/management.js';
import { encodeMessage } from '../src/wire/schema.js';
import { Vehicle } from '../src/vehicle/vehicle.js';
import { openSqliteVehicleStore } from '../src/store/sqlite/index.js';
import { Phone } from '../src/phone/phone.js';
import { PhoneStore } from '../src/phone/store.js';
import { DigitalKeyError } from '../src/errors.js';

const DATA_DIR = join(process.cwd(), '.demo-data');
const DAY_MS = 86_400_000;
/** Connection interval of every link in the demo, ms. */
const INTERVAL_MS = 15;

async function main(): Promise<void> {
  rmSync(DATA_DIR, { recursive: true, force: true });
  const vehicleCrypto = createNodeProvider();
  const phoneCrypto = createNobleProvider();
  // The durable store: SQLite commits synchronously (WAL fsync inside the call), so no real
  // I/O escapes the virtual clock.
  const store = await openSqliteVehicleStore(join(DATA_DIR, 'vehicle'));
  const clock = new VirtualClock(Date.now());
  const run = <T>(p: Promise<T>) => clock.runUntilSettled(p);

  const actions: string[] = [];
  const handler = (name: string) => (ctx: { keyName: string; path: string }) => {
    actions.push(name);
    console.log(`      🚗 vehicle: ${name} (key "${ctx.keyName}", ${ctx.path} path)`);
  };
  const vehicle = await Vehicle.create({
    crypto: vehicleCrypto,
    clock,
    store,
    handlers: {
      [COMMAND.unlock]: handler('UNLOCKED'),
      [COMMAND.lock]: handler('LOCKED'),
      [COMMAND.start]: handler('DRIVE AUTHORIZED'),
    },
  });
  const vehicleId = vehicle.identity.vehicleId;
  const newPhone = () => new Phone({ crypto: phoneCrypto, clock, signer: createSoftwareSigner(phoneCrypto), store: new PhoneStore(createMemoryVault()) });

  header('ble-digital-key demo: a phone as a car key, no server anywhere');
  console.log(`  vehicle ${toHex(vehicleId).slice(0, 12)}…  store ${DATA_DIR}  link: mock BLE, 15 ms interval, MTU 185\n`);

  /** Runs one exchange on a fresh link and prints what crossed the air. */
  async function step<T>(title: string, f: (pair: MockLinkPair) => Promise<T>, adversary?: Adversary): Promise<T | DigitalKeyError> {
    const pair = createMockLinkPair({ clock, mtu: 185, connectionIntervalMs: INTERVAL_MS, ...(adversary ? { adversary } : {}) });
    const served = vehicle.serve(pair.vehicle);
    const t0 = clock.now();
    const out = await run(f(pair).catch((e: unknown) => e as DigitalKeyError));
    const t1 = clock.now();
    await run(served);
    const s = pair.stats.snapshot();
    const msgs = s.toVehicle.messages + s.toPhone.messages;
    const bytes = s.toVehicle.airBytes + s.toPhone.airBytes;
    // A clear REJECTED is unauthenticated, so the phone flags that it cannot prove nothing ran.
    const verdict = out instanceof DigitalKeyError ? `refused: ${out.code}${out.mayHaveSucceeded ? ' (unauthenticated answer: mayHaveSucceeded)' : ''}` : 'ok';
    // The mock link moves data only at connection events, one every 15 ms from the subscription.
    const events = Math.round((t1 - t0) / INTERVAL_MS);
    console.log(`  ▸ ${title}\n      ${msgs} messages, ${bytes} bytes on air, ${(t1 - t0).toFixed(1)} ms simulated = ${events} connection events → ${verdict}`);
    return out;
  }

  // 1. Pairing: the owner presses "add key" in the car; the car shows a code.
  header('1. Owner pairing with the code shown in the car (SPAKE2+, RFC 9383)');
  const { code } = vehicle.openPairingWindow({ ttlMs: 5 * 60_000 });
  console.log(`  car screen shows pairing code ${code} (window 5 min, 5 attempts; the car stores only a verifier)`);
  console.log('  (the phone stretches the code with scrypt N=2^15 in pure JS: this takes a few seconds)');
  const owner = newPhone();
  await step('phone pairs with the code', (p) => owner.pair(p.phone, code!, { keyName: "Alice's phone" }));

  // 2. Unlock: full path. 3. Lock: fast path.
  header('2. Unlock — full path: ECDH + signature, forward secret, identity hidden');
  let captured: Uint8Array | undefined;
  const capture: Adversary = (e) => {
    if (e.direction === 'toVehicle' && e.index === 0) captured = e.bytes.slice();
  };
  await step('unlock', async (p) => summarize(await owner.connect(p.phone, vehicleId, { id: COMMAND.unlock })), capture);

  header('3. Lock — fast path: single-use ticket, fresh ECDH, no signature (waits for the Challenge)');
  await step('lock', async (p) => summarize(await owner.connect(p.phone, vehicleId, { id: COMMAND.lock }, { resume: 'off' })));

  header('3b. Unlock — resumed: the ticket rides the first message, sent right after subscribing');
  console.log("  (the car's Challenge crosses it in the same connection event; its ephemeral keys the answer)");
  await step('resumed unlock', async (p) => summarize(await owner.connect(p.phone, vehicleId, { id: COMMAND.unlock })));

  header('4. Start — needs the full path and the user present');
  await step('start without user presence', (p) => owner.command(p.phone, vehicleId, { id: COMMAND.start }));
  await step('start with Face ID confirmed', (p) => owner.command(p.phone, vehicleId, { id: COMMAND.start, userPresent: true }));

  header('5. An attacker replays the captured unlock Auth on a new connection');
  await step('replayed Auth', async (p) => {
    await p.phone.receive(); // the vehicle's fresh challenge
    await p.phone.send(captured!);
    const answer = await p.phone.receive();
    throw new DigitalKeyError('REJECTED', `vehicle answered ${answer.length} bytes: generic rejection`);
  });

  header('6. Sharing a key with a friend, offline');
  const friend = newPhone();
  const { text } = await owner.shareKey(vehicleId, {
    subjectKey: friend.publicKey,
    commands: [COMMAND.unlock, COMMAND.lock],
    notBeforeMs: clock.now() - 60_000,
    notAfterMs: clock.now() + 2 * DAY_MS,
    name: 'Bob (weekend)',
  });
  console.log(`  owner's phone signs a grant: unlock+lock for 2 days; share text is ${text.length} chars (fits a QR code)`);
  await friend.importShare(text);
  await step("friend unlocks with the grant (car checks it offline, enrolls Bob's key)", (p) => friend.unlock(p.phone, vehicleId));
  await step('friend tries to start the car (not granted)', (p) => friend.command(p.phone, vehicleId, { id: COMMAND.start, userPresent: true }));

  header('7. The owner revokes the friend over the air; the friend is refused');
  await step('owner revokes Bob', async (p) => {
    const s = await owner.connect(p.phone, vehicleId, { id: MGMT_COMMAND.revokeKey, data: encodeMessage(KeyArgSchema, { keyId: friend.keyId }) });
    const r = s.firstResult;
    await s.close();
    return r;
  });
  await step('friend tries to unlock', (p) => friend.unlock(p.phone, vehicleId));

  header('Audit log on the vehicle (newest last)');
  for (const e of (await vehicle.readAudit()).slice(-8)) {
    console.log(`  ${new Date(e.timeMs).toISOString().slice(11, 23)}  ${(e.keyId ?? '-').padEnd(16)}  ${String(e.command ?? '').padEnd(3)} ${(e.path ?? '').padEnd(7)} ${e.outcome}${e.detail ? ` (${e.detail})` : ''}`);
  }
  console.log(`\n  commands executed by the vehicle: ${actions.join(', ')}`);
  console.log('  every step above ran offline: two devices, pre-provisioned keys, no server.');
  await vehicle.config.store.close();
}

function summarize(session: { path: string; firstResult: { code: string }; close(): Promise<void> }): Promise<string> {
  const r = `${session.path} path, ${session.firstResult.code}`;
  return session.close().then(() => r);
}

function header(text: string): void {
  console.log(`\n${text}`);
}

main().catch((e: unknown) => {
  console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
