/**
 * Which ATT operations each flow's transport uses, so both flows pay for what they use on the
 * mock link's acknowledgement model (src/transport/mock/air.ts; docs/BENCHMARKS.md §Transports).
 *
 * - Ours: the phone adapters phones run, Web Bluetooth and React Native (src/ble/gatt-client.ts,
 *   `writeWithoutResponse` default false), write WITH response; the vehicle (src/ble/bleno.ts,
 *   characteristic property `notify`, src/ble/profile.ts) notifies. noble's central
 *   (src/ble/noble.ts) writes without response by default: {@link OURS_NO_RESPONSE}.
 * - Tesla: pkg/connector/ble/ble.go writes with `WriteCharacteristic(c.txChar, …, false)` (go-ble's
 *   `noRsp` false: with response) and subscribes with `Subscribe(conn.rxChar, true, …)` (`ind`
 *   true: indications).
 */
import type { MockLinkOptions } from '../../src/transport/mock/index.js';

/** Link options of a transport. */
export type Transport = Pick<MockLinkOptions, 'writeWithResponse' | 'indicate'>;

/** Our flows as phones run them: writes with response, notifications. */
export const OURS_TRANSPORT: Transport = { writeWithResponse: true, indicate: false };
/** Our flows from noble's central: writes without response, notifications. */
export const OURS_NO_RESPONSE: Transport = { writeWithResponse: false, indicate: false };
/** Tesla's vehicle-command: writes with response, indications. */
export const TESLA_TRANSPORT: Transport = { writeWithResponse: true, indicate: true };
/** No acknowledgements at all: the model before ATT acknowledgements (for comparison only). */
export const NO_ACKS: Transport = { writeWithResponse: false, indicate: false };
