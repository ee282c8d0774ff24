/** Sharing helpers for scenario tests: one unlock on a fresh link, and an owner → friend share. */
import { COMMAND } from '../../src/protocol/constants.js';
import type { CommandResult, Phone } from '../../src/phone/phone.js';
import type { DigitalKeyError } from '../../src/errors.js';
import { T0, type World } from './world.js';

/** One day, ms. */
export const DAY = 24 * 3600 * 1000;

/** Unlocks on a fresh link; returns the result or the typed error. */
export async function unlock(w: World, phone: Phone, id: number = COMMAND.unlock): Promise<CommandResult & DigitalKeyError> {
  const l = w.link();
  const r = await w.run(phone.command(l.pair.phone, w.vehicle.identity.vehicleId, { id }).catch((e: unknown) => e));
  await w.run(l.served);
  return r as CommandResult & DigitalKeyError;
}

/** `issuer` shares unlock+lock for a week with `friend` (overridable); the friend imports it. */
export async function share(w: World, issuer: Phone, friend: Phone, over: Partial<Parameters<Phone['shareKey']>[1]> = {}) {
  const { text, grantId } = await w.run(
    issuer.shareKey(w.vehicle.identity.vehicleId, {
      subjectKey: friend.publicKey,
      commands: [COMMAND.unlock, COMMAND.lock],
      notBeforeMs: T0 - DAY,
      notAfterMs: T0 + 7 * DAY,
      name: 'friend',
      ...over,
    }),
  );
  await friend.importShare(text);
  return { text, grantId };
}
