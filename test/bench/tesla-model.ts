/**
 * The baseline: Tesla's vehicle-command BLE flow for an unlock, rebuilt message by message on
 * the same mock link, timing model and CryptoProvider as our flows (docs/BENCHMARKS.md §Baseline).
 *
 * Source: github.com/teslamotors/vehicle-command — pkg/protocol/protocol.md (handshake, metadata
 * TLV, AES-GCM command and response), pkg/protocol/protobuf/{universal_message,signatures,vcsec}.proto
 * (field numbers), pkg/connector/ble/ble.go (2-byte big-endian length prefix per message, chunks
 * of MTU − 3, `WriteCharacteristic(…, noRsp=false)`: writes WITH response; `Subscribe(rx, ind=true, …)`:
 * INDICATIONS — so both directions are ATT-acknowledged, see TESLA_TRANSPORT). The messages are
 * real protobuf encodings of those structures, so their sizes are derived, not assumed:
 *
 *   1 phone → vehicle  RoutableMessage{to: VCSEC, from: routing address, session_info_request{public_key (65)}, uuid}
 *   2 vehicle → phone  RoutableMessage{to, from, session_info{counter, publicKey, epoch, clock_time}, session_info_tag (HMAC), request_uuid}
 *   3 phone → vehicle  RoutableMessage{to, from, AES-GCM(UnsignedMessage{RKEAction: UNLOCK}), signer public key + AES_GCM_Personalized_data, uuid, flags: ENCRYPT_RESPONSE}
 *   4 vehicle → phone  RoutableMessage{to, from, AES-GCM(FromVCSECMessage{commandStatus}), AES_GCM_Response_data}  (VCSEC omits request_uuid)
 *
 * Two sessions, each reported on its own:
 * - `uncached`: messages 1–4, the static-static ECDH K = H(ECDH(c, V)) on both sides per session
 *   info (protocol.md "Key Agreement"), the session-info HMACs;
 * - `cached`: what tesla-control does by default — pkg/cli/config.go sets a session cache file
 *   (~/.tesla-cache.json unless -disable-session-cache), pkg/vehicle/vehicle.go NewVehicle loads
 *   its entry (dispatcher.LoadCache), and internal/dispatcher/dispatcher.go StartSession returns
 *   "loaded from cache" without a handshake (session.go CacheEntry: "resumed without a handshake
 *   message"). Only messages 3 and 4 travel; K was derived when the cache was loaded, before
 *   the connection, as our phone precomputes its `es`.
 * Both: SHA-256 of the metadata for the AAD, one AES-GCM seal and one open per side. Stand-ins:
 * SHA-256 for the SHA-1 in K's derivation and AES-256-GCM for Tesla's AES-128-GCM (the provider
 * has neither; both cost about the same at these sizes).
 */
import { concatBytes, equalBytes, utf8 } from '../../src/crypto/bytes.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { createMockLinkPair, VirtualClock, type MockLinkOptions, type MockStatsSnapshot } from '../../src/transport/mock/index.js';
import type { Link } from '../../src/transport/link.js';
import { pbBytes, pbDecode, pbEncode, pbNumber } from './protobuf.js';
import { SideTimer, TimingLink } from './timing-link.js';
import type { CpuModel } from './session.js';
import { TESLA_TRANSPORT } from './transports.js';
import { newProvider, T0_MS, type ProviderName } from './world.js';

/** universal_message.proto Domain.DOMAIN_VEHICLE_SECURITY. */
const DOMAIN_VCSEC = 2;
/** signatures.proto Tag values used in the metadata TLV (protocol.md "Metadata serialization"). */
const TAG = { signatureType: 0, domain: 1, personalization: 2, epoch: 3, expiresAt: 4, counter: 5, challenge: 6, flags: 7, requestHash: 8, fault: 9, end: 0xff } as const;
/** signatures.proto SignatureType values. */
const SIG = { aesGcmPersonalized: 5, hmac: 6, aesGcmResponse: 9 } as const;
/** 1 << UniversalMessage.FLAG_ENCRYPT_RESPONSE, as protocol.md recommends. */
const FLAG_ENCRYPT_RESPONSE = 2;
/** Command lifetime the Go client uses, seconds (an expiry a few seconds after the vehicle clock). */
const EXPIRES_IN_S = 5;

/** The two Tesla sessions. */
export type TeslaVariant = 'uncached' | 'cached';

/** Both variants, in report order. */
export const TESLA_VARIANTS: readonly TeslaVariant[] = ['uncached', 'cached'];

/** One side's fixed state. */
interface TeslaParty {
  crypto: CryptoProvider;
  privateKey: Uint8Array;
  /** Uncompressed SEC1 public key, 65 bytes (protocol.md ENCODE_PUBLIC). */
  publicKey: Uint8Array;
  /** K for the peer, when cached (cached variant). */
  cachedK?: Uint8Array;
}

/** What the phone's session cache holds (dispatcher CacheEntry: the SessionInfo). */
interface CachedSession {
  epoch: Uint8Array;
  counter: number;
}

/** A Tesla-model vehicle and phone sharing a virtual clock. */
export interface TeslaWorld {
  readonly provider: ProviderName;
  readonly variant: TeslaVariant;
  readonly clock: VirtualClock;
  readonly vehicle: TeslaParty & { vin: Uint8Array; epoch: Uint8Array; counter: number; whitelist: Set<string> };
  readonly phone: TeslaParty & { session?: CachedSession };
}

/** Builds the baseline world; `cached` starts from a loaded session cache (no handshake). */
export function makeTeslaWorld(provider: ProviderName, variant: TeslaVariant = 'uncached'): TeslaWorld {
  const party = (): TeslaParty => {
    const crypto = newProvider(provider);
    const kp = crypto.generateKeyPair();
    return { crypto, privateKey: kp.privateKey, publicKey: crypto.uncompressPublicKey(kp.publicKey) };
  };
  const vehicleParty = party();
  const phone: TeslaParty & { session?: CachedSession } = party();
  const vehicle = {
    ...vehicleParty,
    vin: utf8('5YJ30123456789ABC'),
    epoch: vehicleParty.crypto.randomBytes(16),
    counter: 6,
    whitelist: new Set([hex(phone.publicKey)]),
  };
  if (variant === 'cached') {
    vehicle.cachedK = sessionKey(vehicle, phone.publicKey);
    phone.cachedK = sessionKey(phone, vehicle.publicKey);
    phone.session = { epoch: vehicle.epoch, counter: vehicle.counter };
  }
  return { provider, variant, clock: new VirtualClock(T0_MS), vehicle, phone };
}

/** What one baseline session measured (same meaning as SessionResult's fields). */
export interface TeslaSessionResult {
  vehicleWindowsMs: number[];
  phoneWindowsMs: number[];
  virtualMsInWindows: number;
  stats: MockStatsSnapshot;
  /** Virtual ms from subscription to the response's arrival (a whole number of connection events). */
  arrivedMs: number;
  latencyMs: number;
  actuatedMs: number;
}

/**
 * One unlock on a new link, over Tesla's transport unless `link` overrides it. Phone windows:
 * uncached [build request, SessionInfo → command, response → app], cached [build command,
 * response → app]; vehicle windows: uncached [request → SessionInfo, command → response], cached
 * [command → response]. With `model`, sends are delayed by those windows and the last phone
 * window is added to the latency.
 */
export async function runTeslaSession(
  w: TeslaWorld,
  link: Partial<Omit<MockLinkOptions, 'clock'>> = {},
  model?: CpuModel,
): Promise<TeslaSessionResult> {
  const { clock } = w;
  const vehicleTimer = new SideTimer(clock);
  const phoneTimer = new SideTimer(clock);
  const pair = createMockLinkPair({ clock, ...TESLA_TRANSPORT, ...link });
  const vehicleLink = new TimingLink(pair.vehicle, vehicleTimer, phoneTimer, clock, { delaysMs: model?.vehicleMs });
  const phoneLink = new TimingLink(pair.phone, phoneTimer, vehicleTimer, clock, { delaysMs: model?.phoneMs });
  const startMs = clock.now();
  const served = vehicleServe(w, vehicleLink);
  phoneTimer.openInitial();
  await clock.runUntilSettled(phoneUnlock(w, phoneLink).then(() => phoneTimer.close()));
  const endMs = clock.now();
  const stats = pair.stats.snapshot();
  await clock.runUntilSettled(served);
  await clock.runUntilSettled(phoneLink.close('done'));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const last = (xs: readonly number[] | undefined) => (xs && xs.length > 0 ? xs[xs.length - 1]! : 0);
  const commandWindow = w.variant === 'cached' ? 0 : 1;
  return {
    vehicleWindowsMs: vehicleTimer.windowsMs,
    phoneWindowsMs: phoneTimer.windowsMs,
    virtualMsInWindows: sum(vehicleTimer.virtualMsInWindows) + sum(phoneTimer.virtualMsInWindows),
    stats,
    arrivedMs: endMs - startMs,
    latencyMs: endMs - startMs + last(model?.phoneMs),
    actuatedMs: (vehicleTimer.openedAtVirtualMs[commandWindow] ?? Number.NaN) - startMs + (model?.vehicleMs[commandWindow] ?? 0),
  };
}

/** The vehicle: answers a session-info request (uncached only), then one AES-GCM command. */
async function vehicleServe(w: TeslaWorld, link: Link): Promise<void> {
  let k = w.vehicle.cachedK;
  let routing: Uint8Array | undefined;
  if (w.variant === 'uncached') ({ k, routing } = await answerSessionInfo(w, link));
  await answerCommand(w, link, k!, routing);
}

/** Msg 1 → msg 2: the handshake response, tagged with HMAC(K, "session info"). */
async function answerSessionInfo(w: TeslaWorld, link: Link): Promise<{ k: Uint8Array; routing: Uint8Array }> {
  const v = w.vehicle;
  const { crypto } = v;
  const request = pbDecode(await link.receive());
  const routing = pbBytes(pbDecode(pbBytes(request, 7)), 2);
  const clientKey = pbBytes(pbDecode(pbBytes(request, 14)), 1);
  const challenge = pbBytes(request, 51);
  if (!v.whitelist.has(hex(clientKey))) throw new Error('tesla model: key not on whitelist');
  const k = sessionKey(v, clientKey);
  const info = pbEncode([{ no: 1, varint: v.counter }, { no: 2, bytes: v.publicKey }, { no: 3, bytes: v.epoch }, { no: 4, fixed32: clockTimeOf(w) }]);
  const infoKey = crypto.hmacSha256(k, utf8('session info'));
  const metadata = tlv([[TAG.signatureType, [SIG.hmac]], [TAG.personalization, v.vin], [TAG.challenge, challenge]]);
  const tag = crypto.hmacSha256(infoKey, concatBytes(metadata, info));
  await link.send(
    pbEncode([
      { no: 6, bytes: destination({ routing }) },
      { no: 7, bytes: destination({ domain: DOMAIN_VCSEC }) },
      { no: 13, bytes: pbEncode([{ no: 6, bytes: pbEncode([{ no: 1, bytes: tag }]) }]) },
      { no: 15, bytes: info },
      { no: 50, bytes: challenge },
    ]),
  );
  return { k, routing };
}

/** Msg 3 → msg 4: open the command, act, answer with an encrypted status. */
async function answerCommand(w: TeslaWorld, link: Link, k: Uint8Array, knownRouting: Uint8Array | undefined): Promise<void> {
  const v = w.vehicle;
  const { crypto } = v;
  const command = pbDecode(await link.receive());
  const routing = knownRouting ?? pbBytes(pbDecode(pbBytes(command, 7)), 2);
  const sig = pbDecode(pbBytes(command, 13));
  const signer = pbBytes(pbDecode(pbBytes(sig, 1)), 1);
  const gcm = pbDecode(pbBytes(sig, 5));
  if (!v.whitelist.has(hex(signer))) throw new Error('tesla model: unknown signer');
  const counter = pbNumber(gcm, 3);
  const expiresAt = pbNumber(gcm, 4);
  if (counter <= v.counter || expiresAt < clockTimeOf(w)) throw new Error('tesla model: stale command');
  const flags = pbNumber(command, 52);
  const aad = crypto.sha256(commandMetadata(v.vin, pbBytes(gcm, 1), expiresAt, counter, flags));
  const gcmTag = pbBytes(gcm, 5);
  const plain = crypto.aeadOpen(k, pbBytes(gcm, 2), concatBytes(pbBytes(command, 10), gcmTag), aad);
  if (plain === null) throw new Error('tesla model: command failed authentication');
  if (pbNumber(pbDecode(plain), 2) !== 0) throw new Error('tesla model: not an unlock');
  v.counter = counter;
  const status = pbEncode([{ no: 4, bytes: new Uint8Array(0) }]); // FromVCSECMessage{commandStatus: OK}
  const nonce = crypto.randomBytes(12);
  const sealed = crypto.aeadSeal(k, nonce, status, crypto.sha256(responseMetadata(v.vin, counter, gcmTag)));
  await link.send(
    pbEncode([
      { no: 6, bytes: destination({ routing }) },
      { no: 7, bytes: destination({ domain: DOMAIN_VCSEC }) },
      { no: 10, bytes: sealed.subarray(0, sealed.length - 16) },
      { no: 13, bytes: pbEncode([{ no: 9, bytes: pbEncode([{ no: 1, bytes: nonce }, { no: 2, varint: counter }, { no: 3, bytes: sealed.subarray(sealed.length - 16) }]) }]) },
    ]),
  );
}

/** The phone: session info (requested, or from its cache), AES-GCM unlock, encrypted response. */
async function phoneUnlock(w: TeslaWorld, link: Link): Promise<void> {
  const p = w.phone;
  const routing = p.crypto.randomBytes(16);
  const { k, session } = p.session && p.cachedK ? { k: p.cachedK, session: p.session } : await requestSessionInfo(w, link, routing);
  const counter = session.counter + 1;
  // The cache keeps the session going: the next unlock uses the next counter.
  if (p.session) p.session = { epoch: session.epoch, counter };
  await sendCommand(w, link, routing, k, session.epoch, counter);
}

/** Msg 1 → msg 2 on the phone: request, then check the tagged SessionInfo. */
async function requestSessionInfo(w: TeslaWorld, link: Link, routing: Uint8Array): Promise<{ k: Uint8Array; session: CachedSession }> {
  const p = w.phone;
  const { crypto } = p;
  const challenge = crypto.randomBytes(16);
  await link.send(
    pbEncode([
      { no: 6, bytes: destination({ domain: DOMAIN_VCSEC }) },
      { no: 7, bytes: destination({ routing }) },
      { no: 14, bytes: pbEncode([{ no: 1, bytes: p.publicKey }]) },
      { no: 51, bytes: challenge },
    ]),
  );
  const response = pbDecode(await link.receive());
  const info = pbBytes(response, 15);
  const tag = pbBytes(pbDecode(pbBytes(pbDecode(pbBytes(response, 13)), 6)), 1);
  const session = pbDecode(info);
  const k = sessionKey(p, pbBytes(session, 2));
  const infoKey = crypto.hmacSha256(k, utf8('session info'));
  const metadata = tlv([[TAG.signatureType, [SIG.hmac]], [TAG.personalization, w.vehicle.vin], [TAG.challenge, challenge]]);
  if (!equalBytes(crypto.hmacSha256(infoKey, concatBytes(metadata, info)), tag)) throw new Error('tesla model: bad session info tag');
  if (!equalBytes(pbBytes(response, 50), challenge)) throw new Error('tesla model: wrong request uuid');
  return { k, session: { epoch: pbBytes(session, 3), counter: pbNumber(session, 1) } };
}

/** Msg 3 → msg 4 on the phone: the sealed unlock, then the sealed response. */
async function sendCommand(w: TeslaWorld, link: Link, routing: Uint8Array, k: Uint8Array, epoch: Uint8Array, counter: number): Promise<void> {
  const { crypto, publicKey } = w.phone;
  const vin = w.vehicle.vin;
  const expiresAt = clockTimeOf(w) + EXPIRES_IN_S;
  const action = pbEncode([{ no: 2, varint: 0 }]); // UnsignedMessage{RKEAction: RKE_ACTION_UNLOCK}
  const nonce = crypto.randomBytes(12);
  const aad = crypto.sha256(commandMetadata(vin, epoch, expiresAt, counter, FLAG_ENCRYPT_RESPONSE));
  const sealed = crypto.aeadSeal(k, nonce, action, aad);
  const gcmTag = sealed.subarray(sealed.length - 16);
  const gcmData = pbEncode([{ no: 1, bytes: epoch }, { no: 2, bytes: nonce }, { no: 3, varint: counter }, { no: 4, fixed32: expiresAt }, { no: 5, bytes: gcmTag }]);
  await link.send(
    pbEncode([
      { no: 6, bytes: destination({ domain: DOMAIN_VCSEC }) },
      { no: 7, bytes: destination({ routing }) },
      { no: 10, bytes: sealed.subarray(0, sealed.length - 16) },
      { no: 13, bytes: pbEncode([{ no: 1, bytes: pbEncode([{ no: 1, bytes: publicKey }]) }, { no: 5, bytes: gcmData }]) },
      { no: 51, bytes: crypto.randomBytes(16) },
      { no: 52, varint: FLAG_ENCRYPT_RESPONSE },
    ]),
  );
  const answer = pbDecode(await link.receive());
  const rsp = pbDecode(pbBytes(pbDecode(pbBytes(answer, 13)), 9));
  if (pbNumber(rsp, 2) !== counter) throw new Error('tesla model: response counter mismatch');
  const plain = crypto.aeadOpen(k, pbBytes(rsp, 1), concatBytes(pbBytes(answer, 10), pbBytes(rsp, 3)), crypto.sha256(responseMetadata(vin, counter, gcmTag)));
  if (plain === null || !pbDecode(plain).has(4)) throw new Error('tesla model: bad response');
}

/** The vehicle's clock_time, seconds (both sides share the virtual clock; the phone's cache tracks the offset). */
function clockTimeOf(w: TeslaWorld): number {
  return Math.floor((w.clock.now() - T0_MS) / 1000) + 2650;
}

/** K = H(ECDH x-coordinate), 32 bytes here (Tesla: SHA-1, first 16 bytes). */
function sessionKey(party: TeslaParty, peerPublicKey: Uint8Array): Uint8Array {
  return party.crypto.sha256(party.crypto.ecdh(party.privateKey, peerPublicKey));
}

/** Metadata of an AES-GCM personalized command (protocol.md "Authorizing commands"). */
function commandMetadata(vin: Uint8Array, epoch: Uint8Array, expiresAt: number, counter: number, flags: number): Uint8Array {
  const items: Array<[number, ArrayLike<number>]> = [
    [TAG.signatureType, [SIG.aesGcmPersonalized]],
    [TAG.domain, [DOMAIN_VCSEC]],
    [TAG.personalization, vin],
    [TAG.epoch, epoch],
    [TAG.expiresAt, be32(expiresAt)],
    [TAG.counter, be32(counter)],
  ];
  if (flags !== 0) items.push([TAG.flags, be32(flags)]);
  return tlv(items);
}

/** Metadata of an encrypted response (protocol.md "Response metadata"); request hash = type ‖ tag. */
function responseMetadata(vin: Uint8Array, counter: number, requestTag: Uint8Array): Uint8Array {
  return tlv([
    [TAG.signatureType, [SIG.aesGcmResponse]],
    [TAG.domain, [DOMAIN_VCSEC]],
    [TAG.personalization, vin],
    [TAG.counter, be32(counter)],
    [TAG.flags, be32(0)],
    [TAG.requestHash, concatBytes(Uint8Array.of(SIG.aesGcmPersonalized), requestTag)],
    [TAG.fault, be32(0)],
  ]);
}

/** Tag-length-value items, already in tag order, then the 0xFF end marker. */
function tlv(items: Array<[number, ArrayLike<number>]>): Uint8Array {
  const parts = items.map(([tag, value]) => concatBytes(Uint8Array.of(tag, value.length), Uint8Array.from(value)));
  return concatBytes(...parts, Uint8Array.of(TAG.end));
}

/** A Destination message: a domain or a routing address. */
function destination(d: { domain: number } | { routing: Uint8Array }): Uint8Array {
  return 'domain' in d ? pbEncode([{ no: 1, varint: d.domain }]) : pbEncode([{ no: 2, bytes: d.routing }]);
}

function be32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0);
  return out;
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
