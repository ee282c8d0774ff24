/**
 * Owner pairing on the vehicle (docs/PROTOCOL.md §10): the pairing window an integrator opens on
 * a physical action, the online-guessing limits, and the SPAKE2+ verifier run over a link.
 *
 * The vehicle keeps only the verifier record (w0, L), never the code. Each PairStart spends one
 * attempt before any work is done, so a disconnect cannot make a guess free; failures back off
 * exponentially, and the window closes (lockout) once the attempts are spent: a new window needs
 * a new physical action. Only one pairing run is in flight at a time.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { wipe } from '../crypto/provider.js';
import { AuthenticationError, ProtocolError, UsageError } from '../errors.js';
import { utf8 } from '../crypto/bytes.js';
import type { Clock } from '../transport/clock.js';
import type { Link } from '../transport/link.js';
import { decodeMessage, encodeMessage } from '../wire/schema.js';
import { createVerifierRecord, verifierFinish, verifierRespond } from '../pairing/spake2plus.js';
import {
  PAIRING_ID_PROVER,
  PAIRING_ID_VERIFIER,
  PairConfirmSchema,
  PairDoneSchema,
  PairEnrollSchema,
  PairReplySchema,
  PairStartSchema,
  PairWelcomeSchema,
  PairingRecordSchema,
  pairingContext,
  pairingKeys,
  pairingProofPayload,
  scryptParamsOf,
  type PairingRecordMsg,
} from '../protocol/pairing.js';
import { MAX_PAIRING_LOG_N, MIN_PAIRING_LOG_N, type PairingOfferMsg } from '../protocol/messages.js';
import { nonceFor } from '../protocol/keyschedule.js';

/** Default attempts per window before lockout. */
export const DEFAULT_PAIRING_ATTEMPTS = 5;
/** Backoff after the first failed attempt, ms; doubles with each further failure. */
export const PAIRING_BACKOFF_BASE_MS = 2_000;
/** Default pairing code length, digits (10^8 codes: 5 guesses per window win with p = 5·10^-8). */
export const DEFAULT_PAIRING_CODE_DIGITS = 8;
/** Default scrypt cost for codes made by the vehicle: N = 2^15, r = 8, p = 1 (RFC 9383 §3.2). */
export const DEFAULT_PAIRING_KDF = { logN: 15, r: 8, p: 1 } as const;

/** Options of {@link PairingWindows.open}. */
export interface PairingWindowOptions {
  /** How long the window stays open, ms. */
  ttlMs: number;
  /** Attempts before lockout. Default 5. */
  maxAttempts?: number;
  /**
   * `generate` (default when no factory record is stored): the vehicle makes a random code to
   * show on its screen and returns it. A string: use this code. `record`: use the stored
   * factory-made verifier record (the code is printed on a card).
   */
  code?: 'generate' | 'record' | string;
  /** scrypt cost for a code made here. Default DEFAULT_PAIRING_KDF. */
  kdf?: { logN: number; r: number; p: number };
  /** Digits of a generated code. Default 8. */
  digits?: number;
}

interface Window {
  record: PairingRecordMsg;
  expiresAt: number;
  maxAttempts: number;
  attempts: number;
  failures: number;
  nextAllowedAt: number;
  running: boolean;
}

/** Longest pairing window, ms: a window is a physical moment, not a mode. */
export const MAX_PAIRING_WINDOW_MS = 30 * 60_000;
/** Attempts per window allowed at most; more would weaken the online-guessing bound. */
export const MAX_PAIRING_ATTEMPTS = 10;
/** Shortest pairing code accepted, characters (a generated code has 8 digits). */
export const MIN_PAIRING_CODE_LENGTH = 6;

function checkWindowOptions(o: PairingWindowOptions): void {
  const bad = (field: string, rule: string): never => {
    throw new UsageError('BAD_PAIRING_OPTION', `"${field}" ${rule}`);
  };
  if (typeof o.ttlMs !== 'number' || !Number.isFinite(o.ttlMs) || o.ttlMs <= 0 || o.ttlMs > MAX_PAIRING_WINDOW_MS) bad('ttlMs', `must be in (0, ${MAX_PAIRING_WINDOW_MS}] ms`);
  if (o.maxAttempts !== undefined && (!Number.isInteger(o.maxAttempts) || o.maxAttempts < 1 || o.maxAttempts > MAX_PAIRING_ATTEMPTS)) bad('maxAttempts', `must be an integer in [1, ${MAX_PAIRING_ATTEMPTS}]`);
  if (o.digits !== undefined && (!Number.isInteger(o.digits) || o.digits < MIN_PAIRING_CODE_LENGTH || o.digits > 16)) bad('digits', `must be an integer in [${MIN_PAIRING_CODE_LENGTH}, 16]`);
  if (typeof o.code === 'string' && o.code !== 'generate' && o.code !== 'record' && [...o.code].length < MIN_PAIRING_CODE_LENGTH) bad('code', `must have at least ${MIN_PAIRING_CODE_LENGTH} characters`);
  if (o.kdf !== undefined && (!Number.isInteger(o.kdf.logN) || o.kdf.logN < MIN_PAIRING_LOG_N || o.kdf.logN > MAX_PAIRING_LOG_N)) bad('kdf.logN', `must be an integer in [${MIN_PAIRING_LOG_N}, ${MAX_PAIRING_LOG_N}]`);
}

/** Makes a verifier record from a code (factory provisioning, or openPairingWindow). */
export function makePairingRecord(crypto: CryptoProvider, code: string, kdf: { logN: number; r: number; p: number } = DEFAULT_PAIRING_KDF): Uint8Array {
  const salt = crypto.randomBytes(16);
  const { w0, L } = createVerifierRecord(crypto, utf8(code), salt, PAIRING_ID_PROVER, PAIRING_ID_VERIFIER, scryptParamsOf(kdf));
  return encodeMessage(PairingRecordSchema, { salt, ...kdf, w0, L });
}

/** A uniformly random decimal code (rejection sampling: no modulo bias). */
export function randomCode(crypto: CryptoProvider, digits: number): string {
  let out = '';
  while (out.length < digits) {
    for (const b of crypto.randomBytes(digits)) if (b < 250 && out.length < digits) out += String(b % 10);
  }
  return out;
}

/** The vehicle's pairing window and its limits. */
export class PairingWindows {
  private window: Window | null = null;

  constructor(
    private readonly crypto: CryptoProvider,
    private readonly clock: Clock,
  ) {}

  /** Opens a window. Returns the code to display when the vehicle made one. */
  open(options: PairingWindowOptions, storedRecord: Uint8Array | null): { code?: string; expiresAt: number } {
    checkWindowOptions(options);
    const mode = options.code ?? (storedRecord ? 'record' : 'generate');
    let code: string | undefined;
    let recordBytes: Uint8Array;
    if (mode === 'record') {
      if (!storedRecord) throw new UsageError('NO_PAIRING_RECORD', 'no factory pairing record is stored');
      recordBytes = storedRecord;
    } else {
      code = mode === 'generate' ? randomCode(this.crypto, options.digits ?? DEFAULT_PAIRING_CODE_DIGITS) : mode;
      recordBytes = makePairingRecord(this.crypto, code, options.kdf);
    }
    const expiresAt = this.clock.now() + options.ttlMs;
    this.window = {
      record: decodeMessage(PairingRecordSchema, recordBytes),
      expiresAt,
      maxAttempts: options.maxAttempts ?? DEFAULT_PAIRING_ATTEMPTS,
      attempts: 0,
      failures: 0,
      nextAllowedAt: 0,
      running: false,
    };
    return mode === 'record' ? { expiresAt } : { code, expiresAt };
  }

  /** Closes the window (after a pairing, on lockout, or by the integrator). */
  close(): void {
    if (this.window) wipe(this.window.record.w0);
    this.window = null;
  }

  /** The offer to put in a Challenge, or undefined when no window is open. */
  offer(): PairingOfferMsg | undefined {
    const w = this.live();
    return w ? { salt: w.record.salt, logN: w.record.logN, r: w.record.r, p: w.record.p } : undefined;
  }

  /** Whether a window is open now. */
  get isOpen(): boolean {
    return this.live() !== null;
  }

  /** Attempts left in the open window (0 when closed). */
  get attemptsLeft(): number {
    const w = this.live();
    return w ? w.maxAttempts - w.attempts : 0;
  }

  /** Whether `bytes` is a PairStart (the only message that starts pairing). */
  static isPairStart(bytes: Uint8Array): boolean {
    try {
      decodeMessage(PairStartSchema, bytes);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Runs the verifier side after the Challenge `challengeBytes` was sent and `startBytes`
   * (a PairStart) received. Returns the enrolled phone key and name; throws a typed error on
   * any failure (the caller answers generically and audits).
   */
  async run(link: Link, challengeBytes: Uint8Array, startBytes: Uint8Array, timeoutMs: number): Promise<{ publicKey: Uint8Array; name: string; welcome: (w: { vehicleId: Uint8Array; publicKey: Uint8Array; advertisingKey: Uint8Array }) => Promise<void> }> {
    const w = this.live();
    const now = this.clock.now();
    if (!w) throw new ProtocolError('PAIRING_CLOSED', 'no pairing window is open');
    if (w.running) throw new ProtocolError('PAIRING_BUSY', 'another pairing is in progress');
    if (now < w.nextAllowedAt) throw new ProtocolError('PAIRING_BACKOFF', 'pairing attempts are backing off');
    // Spend the attempt before doing anything: a guess is never free.
    w.attempts++;
    w.running = true;
    try {
      const result = await this.verify(link, w, challengeBytes, startBytes, timeoutMs);
      this.close();
      return result;
    } catch (e) {
      w.failures++;
      w.nextAllowedAt = this.clock.now() + PAIRING_BACKOFF_BASE_MS * 2 ** (w.failures - 1);
      if (w.attempts >= w.maxAttempts) this.close();
      throw e;
    } finally {
      w.running = false;
    }
  }

  private async verify(link: Link, w: Window, challengeBytes: Uint8Array, startBytes: Uint8Array, timeoutMs: number) {
    const crypto = this.crypto;
    const context = pairingContext(challengeBytes);
    const { shareP } = decodeMessage(PairStartSchema, startBytes);
    const { state, shareV, confirmV } = verifierRespond(
      crypto,
      { w0: w.record.w0, L: w.record.L, context, idProver: PAIRING_ID_PROVER, idVerifier: PAIRING_ID_VERIFIER },
      shareP,
    );
    await link.send(encodeMessage(PairReplySchema, { shareV, confirmV }), { timeoutMs });
    const confirm = decodeMessage(PairConfirmSchema, await link.receive({ timeoutMs }));
    const { sharedKey } = verifierFinish(state, confirm.confirmP);
    const keys = pairingKeys(crypto, sharedKey, context);
    wipe(sharedKey);
    const plain = crypto.aeadOpen(keys.p2v, nonceFor(0), confirm.sealed, keys.aad);
    if (!plain) throw new AuthenticationError('PAIRING_AUTH_FAILED', 'pairing enrollment failed authentication');
    const enroll = decodeMessage(PairEnrollSchema, plain);
    const publicKey = crypto.validatePublicKey(enroll.publicKey);
    if (!crypto.verify(publicKey, pairingProofPayload(keys.aad, shareP, shareV), enroll.signature)) {
      throw new AuthenticationError('PAIRING_BAD_PROOF', 'the phone did not prove possession of its key');
    }
    return {
      publicKey,
      name: enroll.name ?? 'owner',
      welcome: async (welcome: { vehicleId: Uint8Array; publicKey: Uint8Array; advertisingKey: Uint8Array }) => {
        const sealed = crypto.aeadSeal(keys.v2p, nonceFor(0), encodeMessage(PairWelcomeSchema, welcome), keys.aad);
        wipe(keys.p2v, keys.v2p);
        await link.send(encodeMessage(PairDoneSchema, { sealed }), { timeoutMs });
      },
    };
  }

  private live(): Window | null {
    if (this.window && this.clock.now() >= this.window.expiresAt) this.close();
    return this.window;
  }
}

