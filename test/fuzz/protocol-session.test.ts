import { describeProtocolFuzz } from './protocol-suite.js';

await describeProtocolFuzz('session', 0xd1ce);
