/**
 * How `dkey` fails: one sentence on stderr and a documented exit code (docs/KEY-MODULE.md
 * §Exit codes). Library errors are mapped here, so no command prints a stack trace unless
 * `--debug` asks for it.
 */
import { AuthenticationError, DigitalKeyError, PolicyError, StoreError, TimeoutError, TransportError, UsageError } from '../errors.js';

/** Exit codes of every `dkey` command. */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** An unexpected failure (a bug: rerun with --debug and report it). */
  internal: 1,
  /** Bad flags or arguments: nothing was done. */
  usage: 2,
  /** The vehicle refused (wrong pairing code, key not enrolled or revoked, command not granted). */
  refused: 3,
  /** Could not reach the other side: no daemon, no socket listener, no Bluetooth adapter. */
  unreachable: 4,
  /** The store or home directory is missing, corrupt, locked, insecure or owned by someone else. */
  store: 5,
  /** No answer after the command left: it may have run (check the car). */
  unknownOutcome: 6,
} as const;

/** A failure the CLI explains in one sentence, with its exit code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** Shorthand for a usage failure. */
export function usage(message: string): CliError {
  return new CliError(EXIT.usage, message);
}

/** Ends a sentence with a full stop unless it already has one. */
export function sentence(text: string): string {
  const t = text.trim().replace(/\s+/g, ' ');
  const s = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** The exit code and the one sentence for any error a command threw. */
export function explain(err: unknown): { exitCode: number; message: string } {
  if (err instanceof CliError) return { exitCode: err.exitCode, message: sentence(err.message) };
  if (err instanceof DigitalKeyError) {
    if (err.mayHaveSucceeded && (err instanceof TimeoutError || err instanceof TransportError)) {
      return { exitCode: EXIT.unknownOutcome, message: sentence(`${err.message} (check the car)`) };
    }
    if (err instanceof PolicyError && err.code === 'HANDLER_TIMEOUT') {
      return { exitCode: EXIT.unknownOutcome, message: sentence(`the car's handler did not answer in time (${err.code}): the command may have run, check the car`) };
    }
    if (err instanceof StoreError) return { exitCode: EXIT.store, message: sentence(err.message) };
    if (err instanceof AuthenticationError || err instanceof PolicyError) return { exitCode: EXIT.refused, message: refusal(err) };
    if (/^PAIRING_/.test(err.code)) return { exitCode: EXIT.refused, message: sentence(err.message) };
    if (err instanceof TransportError || err instanceof TimeoutError) return { exitCode: EXIT.unreachable, message: sentence(err.message) };
    if (err instanceof UsageError) return { exitCode: EXIT.usage, message: sentence(err.message) };
    return { exitCode: EXIT.internal, message: sentence(err.message) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { exitCode: EXIT.internal, message: sentence(`unexpected failure: ${message} (rerun with --debug for details)`) };
}

function refusal(err: DigitalKeyError): string {
  if (err.code === 'REJECTED') return 'The car refused this key: it is not enrolled, was revoked or suspended, or its grant is not valid now.';
  return sentence(err.message);
}
