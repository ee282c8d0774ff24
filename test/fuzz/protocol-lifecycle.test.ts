import { describeProtocolFuzz } from './protocol-suite.js';

await describeProtocolFuzz('lifecycle', 0xd2ce);
