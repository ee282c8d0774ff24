/**
 * The phone's state on top of a {@link Vault}: paired vehicles (id, public key, name, grants
 * still to present) and one single-use resumption ticket per vehicle.
 *
 * The device key itself is never here: it lives behind a Signer (Secure Enclave, Android
 * Keystore). On a phone, back the Vault with Keychain / Keystore-encrypted storage
 * (docs/STORAGE.md): tickets are secrets.
 */
import { StoreError } from '../errors.js';
import { fromHex, toHex } from '../crypto/bytes.js';
import type { Vault } from '../store/vault.js';

/** A vehicle this phone can open. */
export interface PairedVehicle {
  vehicleId: Uint8Array;
  publicKey: Uint8Array;
  name: string;
  /** Grant chain to present in the first full Auth (shared keys), dropped once enrolled. */
  grants?: Uint8Array[];
  /** Key for recognising the vehicle's rotating advertising pseudonym (docs/BLE.md), if known. */
  advertisingKey?: Uint8Array;
}

/** A stored single-use ticket. */
export interface StoredTicket {
  ticketId: Uint8Array;
  resumptionSecret: Uint8Array;
  expiresAt: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** Typed phone state over a Vault. */
export class PhoneStore {
  constructor(readonly vault: Vault) {}

  /** The paired vehicle with this id, or null. */
  async getVehicle(vehicleId: Uint8Array): Promise<PairedVehicle | null> {
    const bytes = await this.vault.get(`v.${toHex(vehicleId)}`);
    return bytes ? decodeVehicle(bytes) : null;
  }

  /** Every paired vehicle. */
  async listVehicles(): Promise<PairedVehicle[]> {
    const out: PairedVehicle[] = [];
    for (const name of await this.vault.list('v.')) {
      const bytes = await this.vault.get(name);
      if (bytes) out.push(decodeVehicle(bytes));
    }
    return out;
  }

  /** Adds or replaces a paired vehicle. */
  async putVehicle(v: PairedVehicle): Promise<void> {
    const json = {
      vehicleId: toHex(v.vehicleId),
      publicKey: toHex(v.publicKey),
      name: v.name,
      grants: v.grants?.map(toHex),
      advertisingKey: v.advertisingKey && toHex(v.advertisingKey),
    };
    await this.vault.put(`v.${toHex(v.vehicleId)}`, enc.encode(JSON.stringify(json)));
  }

  /** Forgets a vehicle and its ticket. */
  async deleteVehicle(vehicleId: Uint8Array): Promise<void> {
    const hex = toHex(vehicleId);
    await this.vault.putMany([
      [`v.${hex}`, null],
      [`t.${hex}`, null],
    ]);
  }

  /** Removes and returns the vehicle's ticket: a ticket is single use, even if the attempt fails. */
  async takeTicket(vehicleId: Uint8Array): Promise<StoredTicket | null> {
    const name = `t.${toHex(vehicleId)}`;
    const bytes = await this.vault.get(name);
    if (!bytes) return null;
    await this.vault.delete(name);
    try {
      const j = JSON.parse(dec.decode(bytes)) as Record<string, unknown>;
      return { ticketId: fromHex(String(j.ticketId)), resumptionSecret: fromHex(String(j.resumptionSecret)), expiresAt: Number(j.expiresAt) };
    } catch (cause) {
      throw new StoreError('STORE_CORRUPT', `phone store record ${name} is unreadable`, { cause });
    }
  }

  /** Files the vehicle's next ticket. */
  async putTicket(vehicleId: Uint8Array, t: StoredTicket): Promise<void> {
    const json = { ticketId: toHex(t.ticketId), resumptionSecret: toHex(t.resumptionSecret), expiresAt: t.expiresAt };
    await this.vault.put(`t.${toHex(vehicleId)}`, enc.encode(JSON.stringify(json)));
  }
}

function decodeVehicle(bytes: Uint8Array): PairedVehicle {
  try {
    const j = JSON.parse(dec.decode(bytes)) as Record<string, unknown>;
    const grants = Array.isArray(j.grants) ? j.grants.map((g) => fromHex(String(g))) : undefined;
    return {
      vehicleId: fromHex(String(j.vehicleId)),
      publicKey: fromHex(String(j.publicKey)),
      name: String(j.name),
      ...(grants ? { grants } : {}),
      ...(typeof j.advertisingKey === 'string' ? { advertisingKey: fromHex(j.advertisingKey) } : {}),
    };
  } catch (cause) {
    throw new StoreError('STORE_CORRUPT', 'phone store vehicle record is unreadable', { cause });
  }
}
