/**
 * The Link conformance suite on the real noble and bleno object models over the fake radio:
 * the phone's noble link is end `a`, the vehicle's bleno link end `b`.
 */
import { describeLinkConformance } from '../transport/link-conformance.js';
import { bleHarness } from './rig.js';

describeLinkConformance('noble ↔ bleno, MTU 23', bleHarness({ phoneMtu: 23 }));
describeLinkConformance('noble ↔ bleno, MTU 247', bleHarness({ phoneMtu: 247 }));
describeLinkConformance(
  'noble ↔ bleno, MTU 185, writes with response, 7.5 ms interval, 1 packet/event',
  bleHarness({ phoneMtu: 185, radio: { connectionIntervalMs: 7.5, packetsPerEvent: 1 }, link: { writeWithoutResponse: false } }),
);
