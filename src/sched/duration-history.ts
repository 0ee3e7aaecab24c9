/**
 * Run times learned from the jobs that finished, for a scheduler told no durations:
 * a new job is predicted to run as long as the recent jobs of its org with as many
 * GPUs did (their geometric mean: run times spread over orders of magnitude, and one
 * week-long job should not make every later one look long), else as the org's recent
 * jobs of any size did, else nothing is known. A history-based predictor in the spirit
 * of 3Sigma (EuroSys'18) and the Helios study (SC'21), who found a group's recent jobs
 * the best plain predictor of the next. Pure: the caller reports each finished run.
 */

/** Recent runs kept per (org, GPUs) and per org. */
const PER_SHAPE = 16;
const PER_ORG = 64;

/** The logs of the last `capacity` run times and their sum. */
class RecentLogs {
  private readonly logs: Float64Array;
  private next = 0;
  private count = 0;
  private sum = 0;

  constructor(capacity: number) {
    this.logs = new Float64Array(capacity);
  }

  add(log: number): void {
    if (this.count === this.logs.length) this.sum -= this.logs[this.next] ?? 0;
    else this.count++;
    this.logs[this.next] = log;
    this.sum += log;
    this.next = (this.next + 1) % this.logs.length;
  }

  geometricMean(): number | undefined {
    return this.count === 0 ? undefined : Math.exp(this.sum / this.count);
  }
}

export class DurationHistory {
  private readonly byShape = new Map<string, RecentLogs>();
  private readonly byOrg = new Map<number, RecentLogs>();

  /** A run of `org`'s job on `gpus` GPUs finished after `runS` seconds of work. */
  observe(org: number, gpus: number, runS: number): void {
    if (!(runS > 0) || !Number.isFinite(runS)) return;
    const log = Math.log(runS);
    const shape = `${org}|${gpus}`;
    let s = this.byShape.get(shape);
    if (s === undefined) this.byShape.set(shape, (s = new RecentLogs(PER_SHAPE)));
    s.add(log);
    let o = this.byOrg.get(org);
    if (o === undefined) this.byOrg.set(org, (o = new RecentLogs(PER_ORG)));
    o.add(log);
  }

  /** The predicted run time of a new job of `org` on `gpus` GPUs, or undefined when the org has finished nothing yet. */
  predict(org: number, gpus: number): number | undefined {
    return this.byShape.get(`${org}|${gpus}`)?.geometricMean() ?? this.byOrg.get(org)?.geometricMean();
  }
}
