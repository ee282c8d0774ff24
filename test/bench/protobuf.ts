/**
 * Just enough Protocol Buffers wire format (https://protobuf.dev/programming-guides/encoding/)
 * for the Tesla baseline to build and parse its messages byte-exactly: varint, fixed32 and
 * length-delimited fields. Bench-only; never used by the library.
 */

/** A field to write: number, wire type and value. Nested messages are passed encoded. */
export type PbField =
  | { no: number; varint: number }
  | { no: number; fixed32: number }
  | { no: number; bytes: Uint8Array };

/** Appends the base-128 varint of a non-negative integer. */
function pushVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Encodes fields in the order given (protobuf encoders emit them in field-number order). */
export function pbEncode(fields: readonly PbField[]): Uint8Array {
  const out: number[] = [];
  for (const f of fields) {
    if ('varint' in f) {
      pushVarint(out, f.no * 8 + 0);
      pushVarint(out, f.varint);
    } else if ('fixed32' in f) {
      pushVarint(out, f.no * 8 + 5);
      out.push(f.fixed32 & 0xff, (f.fixed32 >>> 8) & 0xff, (f.fixed32 >>> 16) & 0xff, (f.fixed32 >>> 24) & 0xff);
    } else {
      pushVarint(out, f.no * 8 + 2);
      pushVarint(out, f.bytes.length);
      for (const b of f.bytes) out.push(b);
    }
  }
  return Uint8Array.from(out);
}

/** Decoded fields by number: varint and fixed32 as numbers, length-delimited as bytes. */
export type PbMessage = Map<number, number | Uint8Array>;

/** Decodes one message level (last occurrence of a field wins). Throws on malformed input. */
export function pbDecode(bytes: Uint8Array): PbMessage {
  const out: PbMessage = new Map();
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (i >= bytes.length) throw new Error('protobuf: truncated varint');
      const b = bytes[i++]!;
      v += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return v;
      scale *= 128;
    }
  };
  while (i < bytes.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    const type = key % 8;
    if (type === 0) out.set(no, varint());
    else if (type === 5) {
      if (i + 4 > bytes.length) throw new Error('protobuf: truncated fixed32');
      out.set(no, (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) >>> 0);
      i += 4;
    } else if (type === 2) {
      const n = varint();
      if (i + n > bytes.length) throw new Error('protobuf: truncated bytes');
      out.set(no, bytes.subarray(i, i + n));
      i += n;
    } else throw new Error(`protobuf: unsupported wire type ${type}`);
  }
  return out;
}

/** A length-delimited field of a decoded message; throws if absent. */
export function pbBytes(m: PbMessage, no: number): Uint8Array {
  const v = m.get(no);
  if (!(v instanceof Uint8Array)) throw new Error(`protobuf: field ${no} missing`);
  return v;
}

/** A numeric field of a decoded message (0 if absent, as proto3 defaults). */
export function pbNumber(m: PbMessage, no: number): number {
  const v = m.get(no);
  return typeof v === 'number' ? v : 0;
}
