/**
 * Implementation constants, with units in their names. Protocol (wire) constants that the spec
 * fixes live in src/protocol/constants.ts.
 */

/** Largest application message (after reassembly) any Link accepts, in bytes. docs/WIRE.md §Framing. */
export const MAX_MESSAGE_BYTES = 4096;
/** Length prefix of a framed message, in bytes (big-endian uint16). */
export const FRAME_HEADER_BYTES = 2;
/** ATT header bytes subtracted from the MTU to get a GATT payload size. */
export const ATT_HEADER_BYTES = 3;
/** BLE default ATT MTU before negotiation. */
export const DEFAULT_ATT_MTU = 23;
/** Largest ATT MTU allowed by the Bluetooth Core spec. */
export const MAX_ATT_MTU = 517;
/** Longest gap between two chunks of one message before the reassembler gives up, in ms. */
export const INTER_CHUNK_TIMEOUT_MS = 2_000;
/** Messages queued on a Link while nobody receives, before the link closes with an error. */
export const MAX_QUEUED_MESSAGES = 16;

// ---------------------------------------------------------------------------------------------
// Wire (src/wire): framing and the strict CBOR codec. docs/WIRE.md.
// ---------------------------------------------------------------------------------------------

/** Smallest GATT payload per chunk, in bytes: the default ATT MTU 23 minus the 3-byte ATT header. */
export const MIN_CHUNK_PAYLOAD_BYTES = DEFAULT_ATT_MTU - ATT_HEADER_BYTES;
/** Largest GATT payload per chunk, in bytes: the largest ATT MTU 517 minus the 3-byte ATT header. */
export const MAX_CHUNK_PAYLOAD_BYTES = MAX_ATT_MTU - ATT_HEADER_BYTES;
/** Largest message length the 16-bit frame length prefix can express, in bytes. */
export const MAX_FRAME_LENGTH_BYTES = 0xffff;
/** Deepest nesting of CBOR arrays/maps the strict decoder accepts (top-level map = depth 1). */
export const MAX_CBOR_DEPTH = 4;

// ---------------------------------------------------------------------------------------------
// Store (src/store/, docs/STORAGE.md)
// ---------------------------------------------------------------------------------------------

/** Longest vault entry or log name, in characters of [a-z0-9._-]. */
export const STORE_MAX_NAME_LENGTH = 64;
/** Largest single vault value, in bytes. */
export const STORE_MAX_VALUE_BYTES = 1_048_576;
/** Largest state file payload (all entries of one vault), in bytes: ~16× the expected worst case. */
export const STORE_MAX_STATE_BYTES = 16_777_216;
/** On-disk format version of state files and log segments. docs/STORAGE.md §Format. */
export const STORE_FORMAT_VERSION = 1;
/** Fixed header of a log segment (magic, version, sequence, SHA-256 of the header), in bytes. */
export const STORE_LOG_SEGMENT_HEADER_BYTES = 48;
/** Per-record framing in a log segment (length, header check, SHA-256), in bytes. */
export const STORE_LOG_RECORD_OVERHEAD_BYTES = 40;
/** Largest log record payload, in bytes. */
export const STORE_LOG_MAX_RECORD_BYTES = 65_536;
/** Default size cap of one log segment before rotation, in bytes. */
export const STORE_LOG_DEFAULT_SEGMENT_MAX_BYTES = 1_048_576;
/** Default number of rotated log segments kept besides the active one. */
export const STORE_LOG_DEFAULT_KEEP_SEGMENTS = 4;
/** Attempts to take over a stale lock before giving up with STORE_LOCKED (another process races us). */
export const STORE_LOCK_TAKEOVER_ATTEMPTS = 3;
