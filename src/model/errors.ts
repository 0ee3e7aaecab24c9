/**
 * The closed set of error codes Suanli raises for bad input and missing things.
 * Expected outcomes ("can't place", "does not fit") are values, not errors; these
 * are for callers who asked for something impossible. Identify errors by `code`.
 */
export const ERROR_CODES = ['invalid_input', 'not_found'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class SuanliError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SuanliError';
    this.code = code;
  }
}

/**
 * One input value is wrong. `field` names it in the caller's vocabulary (the CLI
 * shows it as `--field`, the API as a JSON path); `accepted` says what would do.
 */
export class InvalidInputError extends SuanliError {
  readonly field: string;
  readonly accepted: string;
  constructor(field: string, problem: string, accepted: string) {
    super('invalid_input', `${field}: ${problem}; accepted: ${accepted}`);
    this.name = 'InvalidInputError';
    this.field = field;
    this.accepted = accepted;
  }
}

export function isSuanliError(err: unknown): err is SuanliError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && (ERROR_CODES as readonly string[]).includes((err as SuanliError).code);
}
