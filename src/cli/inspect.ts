/**
 * `dkey inspect TEXT|-`: decodes a share text, a grant, a pairing record or any protocol message
 * (hex or base64url) with the strict codec and shows its fields, saying which are sealed
 * (AES-256-GCM ciphertext: nobody without the session key can read them, this tool included).
 */
import { base64urlDecode, toHex } from '../crypto/bytes.js';
import { STATUS_NAME } from '../protocol/constants.js';
import { decodeGrant, decodeShareBundle } from '../protocol/grant.js';
import { AuthSchema, ChallengeSchema, CommandSchema, FrameSchema } from '../protocol/messages.js';
import { PairConfirmSchema, PairDoneSchema, PairEnrollSchema, PairReplySchema, PairStartSchema, PairWelcomeSchema, PairingRecordSchema } from '../protocol/pairing.js';
import { decodeMessage, type Schema } from '../wire/schema.js';
import { commandName } from './admin.js';
import { usage } from './errors.js';

/** What inspect found. */
export interface Inspected {
  kind: string;
  fields: Record<string, unknown>;
  /** Field names whose bytes are ciphertext. */
  sealed: string[];
}

/** Fields that carry ciphertext, per message kind. */
const SEALED: Record<string, string[]> = { Auth: ['sealed'], Frame: ['sealed'] };

/** Renders decoded values: bytes as hex, nested objects as they are. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return toHex(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function grantView(bytes: Uint8Array): Record<string, unknown> {
  const { body, grant } = decodeGrant(bytes);
  return {
    ...(plain(body) as Record<string, unknown>),
    commands: body.commands.map(commandName),
    notBefore: new Date(body.notBefore * 1000).toISOString(),
    notAfter: new Date(body.notAfter * 1000).toISOString(),
    signature: toHex(grant.signature),
  };
}

const SCHEMAS: Array<Schema<unknown>> = [ChallengeSchema, AuthSchema, FrameSchema, CommandSchema, PairStartSchema, PairReplySchema, PairConfirmSchema, PairDoneSchema, PairEnrollSchema, PairWelcomeSchema, PairingRecordSchema] as Array<Schema<unknown>>;

/** Decodes `input` into its kind and fields. */
export function inspect(input: string): Inspected {
  const text = input.trim();
  if (text.length === 0) throw usage('nothing to inspect: pass hex, base64url, or - to read stdin');
  try {
    const b = decodeShareBundle(text);
    return {
      kind: 'ShareBundle',
      fields: { vehicleId: toHex(b.vehicleId), vehiclePublicKey: toHex(b.vehiclePublicKey), ...(b.advertisingKey ? { advertisingKey: toHex(b.advertisingKey) } : {}), grants: b.grants.map(grantView) },
      sealed: [],
    };
  } catch {
    // not a share text: try the byte forms below
  }
  let bytes: Uint8Array;
  try {
    bytes = /^([0-9a-fA-F]{2})+$/.test(text) ? Uint8Array.from(Buffer.from(text, 'hex')) : base64urlDecode(text);
  } catch {
    throw usage('that is neither hex nor base64url');
  }
  try {
    return { kind: 'Grant', fields: grantView(bytes), sealed: [] };
  } catch {
    // not a grant
  }
  for (const schema of SCHEMAS) {
    try {
      const fields = plain(decodeMessage(schema, bytes)) as Record<string, unknown>;
      if (schema === FrameSchema && typeof fields.status === 'number') fields.statusName = STATUS_NAME[fields.status] ?? `STATUS_${fields.status}`;
      return { kind: schema.name, fields, sealed: (SEALED[schema.name] ?? []).filter((f) => f in fields) };
    } catch {
      // try the next kind
    }
  }
  throw usage(`those ${bytes.length} bytes are no share text, grant, pairing record or protocol message this version knows`);
}

/** Human lines for an inspected value. */
export function inspectLines(r: Inspected): string[] {
  const lines = [r.kind];
  for (const [k, v] of Object.entries(r.fields)) {
    const note = r.sealed.includes(k) ? '  [sealed: AES-256-GCM ciphertext, readable only with the session key]' : '';
    lines.push(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}${note}`);
  }
  return lines;
}
