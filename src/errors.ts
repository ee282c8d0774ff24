/**
 * Typed errors for ble-digital-key.
 *
 * Every error the library raises is a {@link DigitalKeyError} with a stable string `code`.
 * Subclasses group errors by what the caller can do about them:
 * - {@link ProtocolError}: the peer sent something malformed or unexpected (codec, framing).
 * - {@link AuthenticationError}: a signature, MAC or AEAD tag did not check, or the key is unknown.
 * - {@link PolicyError}: authenticated, but the command is not allowed (entitlement, user presence).
 * - {@link TransportError}: the link failed or closed.
 * - {@link TimeoutError}: an operation did not finish in time.
 * - {@link StoreError}: durable state could not be read or written (corrupt, locked).
 * - {@link CryptoError}: invalid key material or a crypto primitive refused its input.
 * - {@link UsageError}: the caller passed an invalid argument (a bug in the calling code).
 *
 * `retryable` says whether trying again (possibly on a new link) can succeed.
 * `mayHaveSucceeded` is true when the failure happened after a command left the phone: the
 * vehicle may have executed it (a link that dies after the send may still have unlocked the car),
 * so an app must not report "failed" as if nothing happened.
 */

/** Options accepted by every error constructor. */
export interface ErrorOptions {
  /** Whether retrying the operation can succeed. */
  retryable?: boolean;
  /** Whether the requested command may have been executed despite the error. */
  mayHaveSucceeded?: boolean;
  /** The underlying error, if any. Never put secrets here. */
  cause?: unknown;
}

/** Base class of every error thrown by this library. */
export class DigitalKeyError extends Error {
  /** Stable machine-readable code, e.g. `CODEC_TRAILING_BYTES`. Never changes meaning. */
  readonly code: string;
  /** Whether retrying the operation can succeed. */
  readonly retryable: boolean;
  /** Whether the command may have run on the vehicle despite this error. */
  readonly mayHaveSucceeded: boolean;

  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.mayHaveSucceeded = options.mayHaveSucceeded ?? false;
  }
}

/** The peer sent malformed, oversized or out-of-order bytes. */
export class ProtocolError extends DigitalKeyError {}

/** Malformed CBOR or a message that does not match its schema. */
export class CodecError extends ProtocolError {}

/** Fragmentation or reassembly failed (overflow, truncation, garbage, timeout between chunks). */
export class FramingError extends ProtocolError {}

/** A signature, MAC or AEAD tag did not verify, or the peer's key is not known. */
export class AuthenticationError extends DigitalKeyError {}

/** The peer is authenticated but the command is not allowed by policy or entitlement. */
export class PolicyError extends DigitalKeyError {}

/** The link failed, closed or could not be established. Retryable by default. */
export class TransportError extends DigitalKeyError {
  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(code, message, { retryable: true, ...options });
  }
}

/** An operation did not complete in time. Retryable by default. */
export class TimeoutError extends DigitalKeyError {
  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(code, message, { retryable: true, ...options });
  }
}

/** Durable state is corrupt, locked by another process, or could not be written. */
export class StoreError extends DigitalKeyError {}

/** Invalid key material, or a primitive refused its input. */
export class CryptoError extends DigitalKeyError {}

/** An API was called with an invalid argument: a bug in the calling code, never the peer's. */
export class UsageError extends DigitalKeyError {}

/** The operation was cancelled through its AbortSignal. */
export class AbortError extends DigitalKeyError {
  constructor(message = 'operation aborted', options: ErrorOptions = {}) {
    super('ABORTED', message, options);
  }
}
