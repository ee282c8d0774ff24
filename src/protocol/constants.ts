/**
 * Protocol constants fixed by docs/PROTOCOL.md. Changing any value here is a wire change: it
 * needs a new protocol version, an updated spec and regenerated test vectors.
 */

/**
 * On-wire version number of spec 1.1 (docs/PROTOCOL.md §2.1). Spec 1.0 was on-wire version 1;
 * 1.1 added the Command request id (key 3), which a strict 1.0 decoder refuses as an unknown
 * key, so 1.1 carries a new number: a 1.0 peer finds no common version and is refused cleanly
 * (NO_COMMON_VERSION / versionMismatch) instead of failing authentication for no stated reason.
 */
export const PROTOCOL_VERSION = 2;
/** Protocol versions this implementation speaks, highest first. §2.1 Versioning. */
export const SUPPORTED_VERSIONS: readonly number[] = [PROTOCOL_VERSION];

/** Vehicle identifier length, bytes (random, chosen at vehicle setup). */
export const VEHICLE_ID_BYTES = 16;
/** Key identifier length, bytes: SHA-256(label ‖ public key) truncated. §3.2. */
export const KEY_ID_BYTES = 8;
/** Resumption ticket identifier length, bytes. §5. */
export const TICKET_ID_BYTES = 16;
/** Compressed P-256 point, bytes. */
export const PUBLIC_KEY_BYTES = 33;
/** ECDSA P-256 r‖s signature, bytes. */
export const SIGNATURE_BYTES = 64;
/** AES-256-GCM key, nonce and tag sizes, bytes. */
export const AEAD_KEY_BYTES = 32;
export const AEAD_NONCE_BYTES = 12;
export const AEAD_TAG_BYTES = 16;
/** Resumption secret length, bytes. */
export const RESUMPTION_SECRET_BYTES = 32;

/** Largest encoded Challenge (msg 1), bytes. */
export const MAX_CHALLENGE_BYTES = 128;
/** Largest encoded Auth (msg 2), bytes: room for a grant chain in the sealed part. */
export const MAX_AUTH_BYTES = 2048;
/** Largest encoded Result / session frame, bytes. */
export const MAX_FRAME_BYTES = 2048;
/** Largest plaintext of an app-defined command argument or result payload, bytes. */
export const MAX_COMMAND_DATA_BYTES = 1024;
/** Highest per-direction frame counter before the session must be re-established. */
export const MAX_FRAME_COUNTER = 2 ** 32 - 1;

/**
 * KDF and signature labels (ASCII). Every key and every direction has its own label:
 * domain separation, §4.
 */
export const LABELS = {
  /** Prefix of the initial transcript hash h0. */
  protocol: 'ble-digital-key v1',
  /** Path markers hashed into h2; fix the layout of the Auth header. */
  full: 'DK1-full',
  fast: 'DK1-fast',
  /** HKDF-Expand infos. */
  authFull: 'DK1 full auth p2v',
  chainFull: 'DK1 full chain',
  authFast: 'DK1 fast auth p2v',
  chainFast: 'DK1 fast chain',
  vehicleToPhone: 'DK1 session v2p',
  phoneToVehicle: 'DK1 session p2v',
  resumptionSecret: 'DK1 resumption secret',
  ticketId: 'DK1 ticket id',
  /** Prefix of the bytes the phone signs in a full Auth. */
  phoneSignature: 'DK1 phone auth signature',
  /** Prefix of the key-id hash. */
  keyId: 'DK1 key id',
} as const;

/** Built-in command identifiers. App-defined commands use ids from APP_COMMAND_MIN up. §6. */
export const COMMAND = {
  unlock: 1,
  lock: 2,
  trunk: 3,
  start: 4,
} as const;

/**
 * In-session request for a fresh challenge: the vehicle answers with a new Challenge and the
 * next command rides a new full handshake (needed for commands with a relay bound, e.g. start).
 */
export const RECHALLENGE_COMMAND = 15;

/** Management commands (owner only), carried like any command. §8. */
export const MGMT_COMMAND = {
  listKeys: 16,
  revokeKey: 17,
  revokeGrant: 18,
  suspendKey: 19,
  resumeKey: 20,
  renameKey: 21,
  readAudit: 22,
} as const;

/** First identifier available to app-defined commands. */
export const APP_COMMAND_MIN = 128;
/** Last valid command identifier. */
export const COMMAND_ID_MAX = 0xffff;

/** Command flag bits. §6. */
export const COMMAND_FLAG = {
  /** The user was present and verified on the phone (biometric / passcode) for this command. */
  userPresent: 1,
} as const;

/**
 * Outcome codes. `REJECTED`, `RETRY_FULL` and `BUSY` travel in the clear (the phone is not
 * authenticated, so they carry no detail: one generic error, no oracle); every other status is
 * sealed under the session key. §7.
 */
export const STATUS = {
  ok: 0,
  /** Clear: authentication failed or the message was invalid. Deliberately undetailed. */
  rejected: 1,
  /** Clear: the fast-path ticket was not accepted; send a full Auth for the same challenge. */
  retryFull: 2,
  /** Clear: too many handshakes in progress. */
  busy: 3,
  notEntitled: 16,
  keyNotValidNow: 17,
  keySuspended: 18,
  userPresenceRequired: 19,
  fullPathRequired: 20,
  relayBoundExceeded: 21,
  proximityCheckFailed: 22,
  unknownCommand: 23,
  handlerFailed: 24,
  /** The handler did not finish in time: it may still complete. */
  handlerTimeout: 25,
  invalidArgument: 26,
  useLimitReached: 27,
  notPermitted: 28,
  /** The command has a relay bound: it must ride a new handshake (phone sends `rechallenge`). */
  freshChallengeRequired: 29,
} as const;

/** Status names by code, for errors and audit records. */
export const STATUS_NAME: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(STATUS).map(([name, code]) => [code, name.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase()]),
);

/** Clear statuses (those a vehicle may send without a session key). */
export const CLEAR_STATUSES: readonly number[] = [STATUS.rejected, STATUS.retryFull, STATUS.busy];

/** HKDF info deriving the advertising-pseudonym key from the vehicle's advertising secret (docs/BLE.md). */
export const ADVERTISING_KEY_LABEL = 'DK1 advertising key';

/** HKDF info deriving the vehicle's ticket-sealing key (docs/STORAGE.md §Secrets). Local, never on the wire. */
export const TICKET_SEAL_LABEL = 'DK1 ticket seal';

/** Resumption ticket lifetime on the vehicle, ms. The phone discards its ticket after it too. */
export const TICKET_LIFETIME_MS = 7 * 24 * 3600 * 1000;

/** Default fast-path renewals a ticket chain may make before a signed full handshake is required. */
export const DEFAULT_MAX_TICKET_RENEWALS = 8;

/** Request ids on commands (exactly-once retries): 1 to this many bytes (docs/PROTOCOL.md §6.4). */
export const MAX_REQUEST_ID_BYTES = 16;

/** Bytes of the request id the phone draws for each command. */
export const REQUEST_ID_BYTES = 8;
