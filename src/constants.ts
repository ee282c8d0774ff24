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
