import { it, expect } from 'vitest';
import { encodeCbor } from '../../src/wire/cbor.js';
it('dbg', () => {
  const a = encodeCbor(new Map([[0, 1]]));
  const b = Uint8Array.from([0xa1, 0, 1]);
  console.log(Object.getPrototypeOf(a) === Uint8Array.prototype, a.constructor.name, a.buffer.byteLength, b.buffer.byteLength, a.byteOffset, Object.keys(a), a.buffer.constructor.name);
  expect(a).toEqual(b);
});
