/**
 * The vehicle's identity key behind a handle, as the phone's key is behind {@link Signer}: the
 * handle gives its public key and does ECDH, and the private scalar never has to leave it.
 *
 * The vehicle uses the identity key for two things only: the `es` DH of every full handshake
 * (docs/PROTOCOL.md §5.2) and, once at start-up, the DH that derives its ticket-sealing key
 * (docs/STORAGE.md §Secrets). So a TPM 2.0 (`TPM2_ECDH_ZGen` on a NIST P-256 key), a PKCS#11 HSM
 * (`C_DeriveKey` with `CKM_ECDH1_DERIVE`, `CKD_NULL`) or a secure element (e.g. an ATECC608 in
 * ECDH mode) can hold it: wrap the device's call in `ecdh`. A dump of the vehicle store then
 * holds neither the identity key nor a usable ticket secret.
 *
 * {@link createSoftwareKeyAgreement} keeps the scalar in memory, for tests, vectors and key
 * modules without a secure element; {@link openSoftwareKeyAgreement} persists it in a vault of
 * its own, which should live apart from the vehicle store (another directory or device).
 */
import { UsageError } from '../errors.js';
import { assertBytes } from './bytes.js';
import type { CryptoProvider } from './provider.js';
import { wipe } from './provider.js';
import type { Vault } from '../store/vault.js';

/** A P-256 key-agreement handle for the vehicle identity key. */
export interface VehicleKeyAgreement {
  /** The SEC1-compressed public key (33 bytes). */
  readonly publicKey: Uint8Array;
  /**
   * The 32-byte x coordinate of `s · peer`. The peer point is validated first (CryptoError on
   * an invalid point). Synchronous: the handshake core is synchronous (a hardware call is too,
   * on the buses key modules use).
   */
  ecdh(peerPublicKey: Uint8Array): Uint8Array;
  /**
   * Replaces the key with a fresh one (factory reset). Optional: a handle that cannot make keys
   * makes the caller provision a new handle instead.
   */
  replace?(): Promise<void>;
}

/** A software handle whose scalar is in memory and can be exported (for tests and migration). */
export interface SoftwareKeyAgreement extends VehicleKeyAgreement {
  /** A copy of the 32-byte private scalar. A secret: wipe copies after use. */
  exportPrivateKey(): Uint8Array;
}

/** A software handle: the scalar in memory, replaced in place. */
class SoftwareHandle implements SoftwareKeyAgreement {
  private secret: Uint8Array = new Uint8Array(0);
  private pub: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly provider: CryptoProvider,
    privateKey: Uint8Array | undefined,
    /** Durable write of a new scalar before it is used (a vault), if any. */
    private readonly persist?: (scalar: Uint8Array) => Promise<void>,
  ) {
    this.adopt(privateKey);
  }

  get publicKey(): Uint8Array {
    return this.pub;
  }

  ecdh(peerPublicKey: Uint8Array): Uint8Array {
    return this.provider.ecdh(this.secret, peerPublicKey);
  }

  exportPrivateKey(): Uint8Array {
    return Uint8Array.from(this.secret);
  }

  async replace(): Promise<void> {
    const { privateKey } = this.provider.generateKeyPair();
    await this.persist?.(privateKey);
    this.adopt(privateKey);
    wipe(privateKey);
  }

  private adopt(scalar: Uint8Array | undefined): void {
    wipe(this.secret);
    if (scalar === undefined) {
      const kp = this.provider.generateKeyPair();
      this.secret = kp.privateKey;
      this.pub = kp.publicKey;
      return;
    }
    assertBytes(scalar, 'privateKey');
    this.secret = Uint8Array.from(scalar);
    this.pub = this.provider.publicKeyFromPrivate(this.secret);
  }
}

/**
 * A software key agreement over `provider`. With no `privateKey` a fresh key is generated; a
 * given key is validated and copied, so the caller may wipe its own buffer.
 */
export function createSoftwareKeyAgreement(provider: CryptoProvider, privateKey?: Uint8Array): SoftwareKeyAgreement {
  return new SoftwareHandle(provider, privateKey);
}

/**
 * A software key agreement persisted in `vault` under `name` (created on first use). Put that
 * vault apart from the vehicle store: its point is that a copy of the store alone is useless.
 * `replace()` writes the new key durably before using it.
 */
export async function openSoftwareKeyAgreement(provider: CryptoProvider, vault: Vault, name = 'identity-key'): Promise<SoftwareKeyAgreement> {
  const stored = await vault.get(name);
  if (stored !== null && stored.length !== 32) throw new UsageError('KEY_FILE_INVALID', `the identity key record "${name}" is not a 32-byte scalar`);
  const handle = new SoftwareHandle(provider, stored ?? undefined, (scalar) => vault.put(name, scalar));
  if (stored === null) {
    const scalar = handle.exportPrivateKey();
    await vault.put(name, scalar);
    wipe(scalar);
  } else {
    wipe(stored);
  }
  return handle;
}
