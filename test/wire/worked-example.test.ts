/**
 * Regenerates the worked examples of docs/WIRE.md and compares them with the hex printed there,
 * so the document and the code cannot drift apart.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Reassembler, fragment } from '../../src/wire/framing.js';
import { decodeMessage, encodeMessage } from '../../src/wire/schema.js';
import { Challenge, type ChallengeMsg } from './sample-schemas.js';

const doc = readFileSync(new URL('../../docs/WIRE.md', import.meta.url), 'utf8');
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

const EXAMPLE: ChallengeMsg = {
  versions: [1, 24],
  ephemeral: new Uint8Array(33).fill(0x02),
  signature: new Uint8Array(64).fill(0xaa),
  note: 'hé',
  inner: { id: 300, flag: true },
};

describe('docs/WIRE.md worked examples', () => {
  const message = encodeMessage(Challenge, EXAMPLE);

  it('the Challenge encodes to 122 bytes and decodes back', () => {
    expect(message.length).toBe(122);
    expect(decodeMessage(Challenge, message)).toEqual(EXAMPLE);
  });

  it('the framing at MTU 23 matches the chunks printed in the document', () => {
    const chunks = fragment(message, 23 - 3);
    const printed = [...doc.matchAll(/^chunk (\d): ([0-9a-f ]+)$/gm)].map((m) => m[2]!.trim());
    expect(printed).toHaveLength(7);
    expect(chunks.map(toHex)).toEqual(printed);
    const r = new Reassembler({ payloadBytes: 20 });
    const out = chunks.map((c) => r.push(c, 0)).filter((m) => m !== null);
    expect(out).toEqual([message]);
  });

  it('the annotated encoding in the document is the real one', () => {
    const block = doc.slice(doc.indexOf('a5                      map, 5 entries'));
    const lines = block.slice(0, block.indexOf('```')).split('\n');
    let hex = '';
    for (const line of lines) {
      const bytes = line.trim().split(/\s{2,}/)[0] ?? '';
      // Expand "02…02" / "aa…aa" runs to the field's full length.
      hex += bytes.replace('02…02', '02 '.repeat(33).trim()).replace('aa…aa', 'aa '.repeat(64).trim()) + ' ';
    }
    expect(hex.trim().split(/\s+/).join(' ')).toBe(toHex(message));
  });

  it('the 40-byte example at MTU 23', () => {
    const m = Uint8Array.from({ length: 40 }, (_, i) => i);
    const chunks = fragment(m, 20);
    expect(chunks.map((c) => c.length)).toEqual([20, 20, 2]);
    expect(toHex(chunks[0]!.subarray(0, 4))).toBe('00 28 00 01');
    expect(chunks[0]![19]).toBe(0x11);
    expect(toHex(chunks[2]!)).toBe('26 27');
  });
});
