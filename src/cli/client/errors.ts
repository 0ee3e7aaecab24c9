/**
 * What can go wrong talking to a control plane, as one error class with a closed
 * set of codes. `run` (main.ts) prints the message as `suanli: <message>`, with no
 * stack, and exits 2 for usage codes (the caller must change how they call) and 1
 * for the rest (the server refused, or could not be reached or understood, or what it
 * showed did not verify: `not_verified`).
 */
export const CLIENT_ERROR_CODES = [
  'server_refused', 'server_unreachable', 'bad_response', 'not_logged_in', 'bad_config', 'nothing_to_do',
  // A witness's refusals: a checkpoint it does not cosign, and a split view (two checkpoints no one log can have).
  'checkpoint_refused', 'split_view',
  // A member's audit: what the server showed did not verify.
  'not_verified',
] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

const USAGE: ReadonlySet<ClientErrorCode> = new Set(['not_logged_in', 'bad_config', 'nothing_to_do']);

/** The error body of a refusal, as the API sent it (`{error: {code, message, field?}}`). */
export interface ApiRefusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}

export class ClientError extends Error {
  readonly code: ClientErrorCode;
  /** Set for `server_refused`. */
  readonly refusal: ApiRefusal | undefined;
  constructor(code: ClientErrorCode, message: string, options?: { refusal?: ApiRefusal; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClientError';
    this.code = code;
    this.refusal = options?.refusal;
  }

  /** Whether the fix is in how the command was called (exit code 2) rather than elsewhere (1). */
  get usage(): boolean {
    return USAGE.has(this.code);
  }
}

export function isClientError(err: unknown): err is ClientError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && (CLIENT_ERROR_CODES as readonly string[]).includes((err as ClientError).code);
}

/** A server's refusal: its message verbatim, then its code and the field it names. */
export function refused(refusal: ApiRefusal): ClientError {
  const where = refusal.field === undefined ? '' : `, field ${refusal.field}`;
  return new ClientError('server_refused', `${refusal.message} (${refusal.code}${where})`, { refusal });
}
