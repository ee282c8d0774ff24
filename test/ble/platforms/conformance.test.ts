/**
 * The Link conformance suite on the platform adapters: react-native-ble-plx (Android and iOS
 * behaviour) and Web Bluetooth, each through a model of its platform API, against the bleno
 * peripheral on the fake radio.
 */
import { describeLinkConformance } from '../../transport/link-conformance.js';
import { platformHarness } from './harness.js';

describeLinkConformance('react-native-ble-plx link (Android model, MTU 517 asked, 256 granted)', platformHarness('android'));
describeLinkConformance('react-native-ble-plx link (iOS model, MTU 185)', platformHarness('ios'));
describeLinkConformance('react-native-ble-plx link (Android model, MTU 23)', platformHarness('android', { phoneMtu: 23 }));
describeLinkConformance('Web Bluetooth link (navigator.bluetooth model)', platformHarness('web'));
