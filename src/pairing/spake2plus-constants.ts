/**
 * SPAKE2+ constants: what RFC 9383 fixes for the ciphersuite
 * P256-SHA256-HKDF-SHA256-HMAC-SHA256, and what this library chooses for registration
 * (the memory-hard function and its parameters, RFC 9383 §3.2 leaves them to the application).
 * docs/PAIRING-SPAKE2PLUS.md explains every value.
 */

// ---------------------------------------------------------------------------------------------
// Spec constants (RFC 9383 §4, ciphersuite P256-SHA256-HKDF-SHA256-HMAC-SHA256).
// ---------------------------------------------------------------------------------------------

/** Ciphersuite name, as RFC 9383 §4 spells it. */
export const SPAKE2PLUS_CIPHERSUITE = 'P256-SHA256-HKDF-SHA256-HMAC-SHA256';

/**
 * M for P-256, SEC1 compressed, exactly as listed in RFC 9383 §4 (seed
 * "1.2.840.10045.3.1.7 point generation seed (M)", algorithm of RFC 9383 Appendix B).
 * Nobody knows its discrete log; that is what makes the prover's blinding w0·M safe.
 */
export const SPAKE2PLUS_M_COMPRESSED_HEX =
  '02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f';

/** N for P-256, SEC1 compressed, exactly as listed in RFC 9383 §4 (seed "... seed (N)"). */
export const SPAKE2PLUS_N_COMPRESSED_HEX =
  '03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49';

/**
 * M, SEC1 uncompressed: the encoding that enters the transcript TT (RFC 9383 §3.3 and the
 * Appendix C vector encode every point uncompressed). A test checks it against the compressed form.
 */
export const SPAKE2PLUS_M_HEX =
  '04886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f' +
  '5ff355163e43ce224e0b0e65ff02ac8e5c7be09419c785e0ca547d55a12e2d20';

/** N, SEC1 uncompressed (see {@link SPAKE2PLUS_M_HEX}). */
export const SPAKE2PLUS_N_HEX =
  '04d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49' +
  '07d60aa6bfade45008a636337f5168c64d9bd36034808cd564490b1e656edbe7';

/** HKDF info for the two confirmation keys, RFC 9383 §3.4. */
export const SPAKE2PLUS_CONFIRMATION_KEYS_INFO = 'ConfirmationKeys';
/** HKDF info for the shared key, RFC 9383 §3.4. */
export const SPAKE2PLUS_SHARED_KEY_INFO = 'SharedKey';

/** Scalar size (w0, w1, x, y), in bytes: P-256's order n is 256 bits. */
export const SPAKE2PLUS_SCALAR_BYTES = 32;
/** Encoded group element (shareP, shareV, Z, V, L, M, N): SEC1 uncompressed, in bytes. */
export const SPAKE2PLUS_POINT_BYTES = 65;
/** SEC1 prefix byte of an uncompressed point. */
export const SPAKE2PLUS_POINT_PREFIX_UNCOMPRESSED = 0x04;
/** SHA-256 output (K_main, K_shared, each confirmation key, each confirmation MAC), in bytes. */
export const SPAKE2PLUS_HASH_BYTES = 32;
/** K_confirmP ‖ K_confirmV: two HMAC-SHA256 keys of the digest length (RFC 9383 §3.4), in bytes. */
export const SPAKE2PLUS_CONFIRMATION_KEYS_BYTES = 2 * SPAKE2PLUS_HASH_BYTES;
/** Width of each length prefix in TT and in the PBKDF input: 8-byte little-endian (RFC 9383 §3.3). */
export const SPAKE2PLUS_LENGTH_PREFIX_BYTES = 8;

// ---------------------------------------------------------------------------------------------
// Registration: the memory-hard function (RFC 9383 §3.2 leaves the choice to the application).
// ---------------------------------------------------------------------------------------------

/**
 * Each of w0s and w1s, in bytes: ceil(log2 n)/8 + k/8 with k = 64 bits of margin, so the
 * reduction mod n has bias at most 2^-64 (RFC 9383 §3.2).
 */
export const SPAKE2PLUS_WS_BYTES = SPAKE2PLUS_SCALAR_BYTES + 8;
/** scrypt output w0s ‖ w1s, in bytes (80: RFC 9383 §3.2's minimum for P-256). */
export const SPAKE2PLUS_SCRYPT_OUTPUT_BYTES = 2 * SPAKE2PLUS_WS_BYTES;

/**
 * Default scrypt cost N = 2^15, r = 8, p = 1: the parameters RFC 9383 §3.2 recommends. Memory
 * is 128·N·r = 32 MiB, within what a phone app and a Linux key module can spare, and roughly
 * 0.1 s of work there; each guess of an attacker who stole a verifier record costs the same.
 */
export const SPAKE2PLUS_SCRYPT_DEFAULT_N = 2 ** 15;
/** Default scrypt block size r (RFC 9383 §3.2). */
export const SPAKE2PLUS_SCRYPT_DEFAULT_R = 8;
/** Default scrypt parallelism p (RFC 9383 §3.2). */
export const SPAKE2PLUS_SCRYPT_DEFAULT_P = 1;
/**
 * Largest scrypt memory (128·N·r) accepted, in bytes. The parameters may travel from the
 * vehicle to the phone during pairing; the cap stops a hostile peer from asking for gigabytes.
 */
export const SPAKE2PLUS_SCRYPT_MAX_MEMORY_BYTES = 256 * 1024 * 1024;
/** Largest scrypt parallelism p accepted (p multiplies the work, not the memory). */
export const SPAKE2PLUS_SCRYPT_MAX_P = 16;
/** Shortest scrypt salt accepted, in bytes: 128 random bits per registration. */
export const SPAKE2PLUS_MIN_SALT_BYTES = 16;
/** Random bytes drawn for an ephemeral scalar x or y before reduction mod n (bias ≤ 2^-64). */
export const SPAKE2PLUS_EPHEMERAL_RANDOM_BYTES = SPAKE2PLUS_WS_BYTES;
