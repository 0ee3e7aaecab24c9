/**
 * What a format reader hands parseTrace. A reader knows one layout's columns and
 * units; parseTrace does the rest once for all (bad-row policy, unique ids, GPU
 * rounding, CPU-only jobs, ordering and the time shift).
 */

/** One job as its trace states it, before parseTrace sorts, shifts and filters. */
export interface TraceRow {
  readonly id: string;
  readonly org: string;
  /** GPUs as the trace counts them: may be fractional (shared GPUs) or 0 (CPU-only). Never negative. */
  readonly gpus: number;
  /** Lower-case GPU type names the job may run on; null means any. */
  readonly gpuTypes: readonly string[] | null;
  /** Seconds on the trace's own time axis, whatever its origin. */
  readonly submitS: number;
  /** Seconds, > 0. */
  readonly durationS: number;
}

/**
 * Thrown by a reader's row builder for a row it cannot use: which column (or JSON
 * field) is wrong, what is wrong with it, and what would do. parseTrace adds the
 * file and line and decides whether to skip or to fail.
 */
export class RowError extends Error {
  readonly column: string;
  readonly problem: string;
  readonly accepted: string;
  constructor(column: string, problem: string, accepted: string) {
    super(`column "${column}": ${problem}`);
    this.name = 'RowError';
    this.column = column;
    this.problem = problem;
    this.accepted = accepted;
  }
}

export interface RowSink {
  /**
   * Takes the row at `line`. `build` throws RowError for a bad row and returns null
   * for a job the trace shows never finished. `idColumn` names where the id came
   * from, to point at a duplicate; null says the reader made ids that cannot repeat.
   */
  row(line: number, idColumn: string | null, build: () => TraceRow | null): void;
}

export interface TraceReader {
  /** How rows are numbered: CSV lines (1-based, header included) or JSON array entries (0-based). */
  readonly unit: 'line' | 'entry';
  /** Whether `head`, a file's first non-blank line, looks like this format. */
  recognizes(head: string): boolean;
  /** Hands every row of `text` to `sink`; throws InvalidInputError when the file as a whole is unreadable (no header, wrong header, not JSON). */
  read(text: string, file: string, sink: RowSink): void;
}

/** The text without a leading byte-order mark, which spreadsheet exports add. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
