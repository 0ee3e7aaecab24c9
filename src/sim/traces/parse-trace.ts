import { InvalidInputError } from '../../model/errors.ts';
import { jobId, orgId } from '../../model/ids.ts';
import { jobDefaults, type JobSpec } from '../../model/job.ts';
import { READERS } from './formats.ts';
import { RowError, stripBom, type RowSink, type TraceRow } from './reader.ts';
import type { ParseOptions, Trace, TraceFormat, TraceRowError } from './trace.ts';

/** GPU demands within this of a whole number are that number: percent × instances leaves float noise. */
const GPU_EPSILON = 1e-9;

/**
 * The jobs of a trace file's `text` in `format`. Pure: the caller reads the file.
 *
 * 1. The format's reader turns each row into a job, or says why it cannot.
 * 2. A bad row throws InvalidInputError (field `trace`, message `file:line: column
 *    "name": problem`), or with `skipBadRows` is recorded in `skipped`.
 * 3. Ids must be unique; fractional GPUs round up; jobs needing no GPU and jobs
 *    that never finished are dropped and counted.
 * 4. Jobs are sorted by submit time (stable: ties keep file order) and shifted
 *    so the first submits at 0. Each job's estimate is its true duration (an
 *    oracle), and the fields traces lack take `jobDefaults()`.
 */
export function parseTrace(text: string, format: TraceFormat, opts: ParseOptions): Trace {
  const reader = READERS[format];
  const sink = new Collector(opts, reader.unit);
  reader.read(stripBom(text), opts.file, sink);

  const rows = sink.rows.sort((a, b) => a.submitS - b.submitS);
  const origin = rows[0]?.submitS ?? 0;
  // Fields named one by one: spreading the defaults into 100K objects measured 40× slower in V8.
  const { gang, priority, preemptible, checkpointIntervalS } = jobDefaults();
  const jobs = rows.map(
    (r): JobSpec => ({
      id: jobId(r.id),
      org: orgId(r.org),
      gpus: Math.ceil(r.gpus - GPU_EPSILON),
      gpuTypes: r.gpuTypes,
      gang,
      submitS: r.submitS - origin,
      estimateS: r.durationS,
      durationS: r.durationS,
      priority,
      preemptible,
      checkpointIntervalS,
    }),
  );
  return { format, file: opts.file, jobs, skipped: sink.skipped, droppedCpuOnly: sink.cpuOnly, droppedUnfinished: sink.unfinished };
}

/** Keeps the good rows, and skips or rejects the bad ones, as ParseOptions says. */
class Collector implements RowSink {
  readonly rows: TraceRow[] = [];
  readonly skipped: TraceRowError[] = [];
  cpuOnly = 0;
  unfinished = 0;
  private readonly firstLineOf = new Map<string, number>();
  private readonly opts: ParseOptions;
  private readonly unit: 'line' | 'entry';

  constructor(opts: ParseOptions, unit: 'line' | 'entry') {
    this.opts = opts;
    this.unit = unit;
  }

  row(line: number, idColumn: string | null, build: () => TraceRow | null): void {
    try {
      const row = build();
      if (row === null) {
        this.unfinished++;
        return;
      }
      if (idColumn !== null) {
        const first = this.firstLineOf.get(row.id);
        if (first !== undefined) throw new RowError(idColumn, `duplicate id "${row.id}", first at ${this.unit} ${first}`, 'an id used once in the trace');
        this.firstLineOf.set(row.id, line);
      }
      if (row.gpus <= GPU_EPSILON) this.cpuOnly++;
      else this.rows.push(row);
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      const place = this.unit === 'line' ? `${this.opts.file}:${line}: column` : `${this.opts.file}: entry ${line}: field`;
      const message = `${place} "${err.column}": ${err.problem}`;
      if (this.opts.skipBadRows !== true) throw new InvalidInputError('trace', message, err.accepted);
      this.skipped.push({ line, column: err.column, message });
    }
  }
}
