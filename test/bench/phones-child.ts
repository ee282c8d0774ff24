/**
 * The phones of the cross-process throughput row (docs/BENCHMARKS.md §Durable store): a child
 * process holding `phones` phones that unlock a vehicle in the parent at once, over the loopback
 * socket link, so the phones' crypto runs on another core and the parent's event loop does only
 * the vehicle's work.
 *
 * Protocol on stdio, one JSON object per line:
 *   parent → child  {"socket": PATH, "vehicleId": HEX, "publicKey": HEX, "advertisingKey": HEX, "phones": N}
 *   child → parent  {"publicKeys": [HEX, …]}            (the parent enrols them)
 *   parent → child  {"round": "prime" | "measure"}     (prime: every phone gets a ticket)
 *   child → parent  {"done": N_FAST, "failed": N_FAILED, "ms": WALL_MS}
 */
import { createInterface } from 'node:readline';
import { createNodeProvider } from '../../src/crypto/node.js';
import { createSoftwareSigner } from '../../src/crypto/signer.js';
import { fromHex, toHex } from '../../src/crypto/bytes.js';
import { connectSocketLink } from '../../src/link/socket.js';
import { Phone } from '../../src/phone/phone.js';
import { PhoneStore } from '../../src/phone/store.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { systemClock } from '../../src/transport/clock.js';

interface Setup {
  socket: string;
  vehicleId: string;
  publicKey: string;
  advertisingKey: string;
  phones: number;
}

const say = (o: unknown): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

/** One unlock; a phone told BUSY retries, as a real one would. */
async function unlock(phone: Phone, socket: string, vehicleId: Uint8Array): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const link = await connectSocketLink({ path: socket });
    try {
      const s = await phone.connect(link, vehicleId, { id: COMMAND.unlock });
      await s.close();
      return s.path;
    } catch (e) {
      await link.close().catch(() => undefined);
      if ((e as { code?: string }).code !== 'VEHICLE_BUSY' || attempt > 50) throw e;
    }
  }
}

async function main(): Promise<void> {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const next = async () => JSON.parse(String((await lines.next()).value)) as Record<string, unknown>;
  const setup = (await next()) as unknown as Setup;
  const crypto = createNodeProvider();
  const vehicleId = fromHex(setup.vehicleId);
  const phones: Phone[] = [];
  for (let i = 0; i < setup.phones; i++) {
    const phone = new Phone({ crypto, signer: createSoftwareSigner(crypto), store: new PhoneStore(createMemoryVault()), clock: systemClock });
    await phone.addVehicle({ vehicleId, publicKey: fromHex(setup.publicKey), advertisingKey: fromHex(setup.advertisingKey), name: 'bench car' });
    phones.push(phone);
  }
  say({ publicKeys: phones.map((p) => toHex(p.publicKey)) });
  for (;;) {
    const msg = await next();
    if (msg.round === undefined) return;
    const t0 = performance.now();
    const paths = await Promise.allSettled(phones.map((p) => unlock(p, setup.socket, vehicleId)));
    const ms = performance.now() - t0;
    say({ done: paths.filter((r) => r.status === 'fulfilled' && r.value === 'fast').length, failed: paths.filter((r) => r.status === 'rejected').length, ms });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`phones child failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
