/**
 * Portable crypto layer: the provider contract, the pure-JS noble provider, DER conversion,
 * the software signer and byte helpers. The node:crypto provider is not here: import it from
 * the package's `./node` entry so browser and React Native bundles never see `node:crypto`.
 */
export type { CryptoProvider, KeyPair, P256Group, ScryptParams, Signer } from './provider.js';
export { wipe } from './provider.js';
export { createNobleProvider, nobleCrypto, nobleP256Group, type NobleProviderOptions } from './noble.js';
export { signatureFromDer, signatureToDer } from './der.js';
export { createSoftwareSigner, type SoftwareSigner } from './signer.js';
export { createSoftwareKeyAgreement, openSoftwareKeyAgreement, type SoftwareKeyAgreement, type VehicleKeyAgreement } from './key-agreement.js';
export {
  assertBytes,
  base64urlDecode,
  base64urlEncode,
  concatBytes,
  equalBytes,
  fromHex,
  isBytes,
  readU16be,
  readU32be,
  readU64be,
  toHex,
  u16be,
  u32be,
  u64be,
  utf8,
} from './bytes.js';
