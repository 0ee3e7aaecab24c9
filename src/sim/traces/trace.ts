import type { JobSpec } from '../../model/job.ts';

/** The trace layouts parseTrace reads; `detectFormat` guesses one from a file's first line. */
export const TRACE_FORMATS = ['generic', 'philly-pollux', 'philly-json', 'helios', 'pai', 'openb', 'gavel'] as const;
export type TraceFormat = (typeof TRACE_FORMATS)[number];

/**
 * A row parseTrace could not use. `line` is the 1-based line in a CSV file (the
 * header is line 1) or the 0-based entry index in a JSON array; `message` is the
 * whole explanation, file and place included, ready to print.
 */
export interface TraceRowError {
  readonly line: number;
  readonly column: string;
  readonly message: string;
}

/** A parsed trace: its jobs in submit order, the first submitted at 0 s. */
export interface Trace {
  readonly format: TraceFormat;
  readonly file: string;
  readonly jobs: readonly JobSpec[];
  /** Bad rows passed over because ParseOptions.skipBadRows was set; empty otherwise. */
  readonly skipped: readonly TraceRowError[];
  /** Rows asking for no GPU: the pool schedules GPUs only. */
  readonly droppedCpuOnly: number;
  /** Jobs the trace shows never finished (still queued or running when it was cut): no run time to replay. */
  readonly droppedUnfinished: number;
}

export interface ParseOptions {
  /** The file's name, for messages. */
  readonly file: string;
  /** Record bad rows in Trace.skipped and go on, instead of throwing at the first. */
  readonly skipBadRows?: boolean;
}
