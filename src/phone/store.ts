/**
 * The phone's state on top of a {@link Vault}: paired vehicles (id, public key, name, grants
 * still to present) and one single-use resumption ticket per vehicle.
 *
 * The device key itself is never here: it lives behind a Signer (Secure Enclave, Android
 * Keystore). On a phone, back the Vault with Keychain / Keystore-encrypted storage
 * (docs/STORAGE.md): tickets are secrets.
 */
import { fromHex, toHex } from '../crypto/bytes.js';
import { encodeRecord, hexField, num, optHex, optHexList, optNum, parseRecord, str } from '../store/json-record.js';
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
  /** When the phone received it, on the phone's clock: its age rides in a ResumeAuth (docs/PROTOCOL.md §14). */
  receivedAt?: number;
}


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
    await this.vault.put(`v.${toHex(v.vehicleId)}`, encodeRecord(json));
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
    return parseRecord(bytes, 'phone', name, (j) => {
      const receivedAt = optNum(j, 'receivedAt');
      return { ticketId: hexField(j, 'ticketId'), resumptionSecret: hexField(j, 'resumptionSecret'), expiresAt: num(j, 'expiresAt'), ...(receivedAt !== undefined ? { receivedAt } : {}) };
    });
  }

  /** Files the vehicle's next ticket. */
  async putTicket(vehicleId: Uint8Array, t: StoredTicket): Promise<void> {
    const json = { ticketId: toHex(t.ticketId), resumptionSecret: toHex(t.resumptionSecret), expiresAt: t.expiresAt, receivedAt: t.receivedAt };
    await this.vault.put(`t.${toHex(vehicleId)}`, encodeRecord(json));
  }
}

function decodeVehicle(bytes: Uint8Array): PairedVehicle {
  return parseRecord(bytes, 'phone', 'vehicle', (j) => {
    const grants = j.grants === undefined ? undefined : (optHexList(j, 'grants') ?? []).map(fromHex);
    const advertisingKey = optHex(j, 'advertisingKey');
    return {
      vehicleId: hexField(j, 'vehicleId'),
      publicKey: hexField(j, 'publicKey'),
      name: str(j, 'name'),
      ...(grants ? { grants } : {}),
      ...(advertisingKey ? { advertisingKey } : {}),
    };
  });
}
