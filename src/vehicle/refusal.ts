/**
 * A vehicle-side refusal: the clear status the phone gets (deliberately undetailed before
 * authentication) and the internal reason kept for the audit log only.
 */
import { DigitalKeyError } from '../errors.js';

/** Thrown inside the vehicle's drivers; never escapes `Vehicle.serve`. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    /** Internal reason for the audit log, e.g. `UNKNOWN_KEY`, `GRANT_REVOKED`. */
    readonly detail: string,
    readonly keyIdHex?: string,
  ) {
    super(detail);
  }
}

/** The audit detail of any failure: a refusal's reason, a typed error's code, else `INTERNAL`. */
export function errorCode(e: unknown): string {
  if (e instanceof Refusal) return e.detail;
  if (e instanceof DigitalKeyError) return e.code;
  return 'INTERNAL';
}
