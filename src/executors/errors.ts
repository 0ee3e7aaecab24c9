/**
 * The engine failed an executor call (as opposed to a run failing, which is a
 * RunStatus). Codes, a closed set; identify errors by `code`:
 * - `unavailable`: the engine could not be reached or answered nonsense; retry later.
 * - `unauthorized`: the engine refused our credentials (expired token, wrong user).
 * - `rejected`: the engine understood and refused the request; retrying will not help.
 */
export const EXECUTOR_ERROR_CODES = ['unavailable', 'unauthorized', 'rejected'] as const;
export type ExecutorErrorCode = (typeof EXECUTOR_ERROR_CODES)[number];

export class ExecutorError extends Error {
  readonly code: ExecutorErrorCode;
  /** Which executor raised it: `local`, `slurm`, `kubernetes`. */
  readonly executor: string;
  constructor(executor: string, code: ExecutorErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${executor}: ${message}`, options);
    this.name = 'ExecutorError';
    this.code = code;
    this.executor = executor;
  }
}

export function isExecutorError(err: unknown): err is ExecutorError {
  return err instanceof Error && (EXECUTOR_ERROR_CODES as readonly string[]).includes((err as { code?: unknown }).code as string) && typeof (err as { executor?: unknown }).executor === 'string';
}
