import type { FieldIssue } from './generated/index.js';

/**
 * Every error the SDK reports: a real `Error` with a stable `code` and, where it applies, the
 * `field` path of the offending input.
 *
 * ```ts
 * const attune = await Attune.init({ ... });
 * if (!attune.ready && attune.error?.code === 'invalid_config') console.table(attune.error.issues);
 * ```
 */
export class AttuneError extends Error {
  /** Stable, machine-readable: `invalid_config`, `unknown_purpose`, `state_tampered`, … */
  code: string;
  /** Path of the offending input, e.g. `purposes[2].id`. */
  field?: string;
  /** For `invalid_config`: every problem found, not only the first. */
  issues?: FieldIssue[];

  constructor(message: string, code = 'internal', field?: string) {
    super(message);
    this.name = 'AttuneError';
    this.code = code;
    if (field !== undefined) this.field = field;
  }
}

/** Turns anything thrown at the wasm boundary into an `AttuneError` (a panic surfaces as a plain Error). */
export function toAttuneError(e: unknown, fallbackCode = 'internal'): AttuneError {
  if (e instanceof AttuneError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const wrapped = new AttuneError(message, fallbackCode);
  if (e instanceof Error) wrapped.cause = e;
  return wrapped;
}
