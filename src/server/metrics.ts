import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The control plane's Prometheus metrics, served at /metrics, on registries of their
 * own (so that two servers in one process, as in tests, never share counters):
 * - `publicRegistry`: pool totals only (jobs waiting, GPUs allocated per GPU type,
 *   pass durations, transitions, batch sizes), what every org may see of the pool
 *   (as GET /api/v1/pool's totals): served to anyone when no metrics token is set;
 * - `fullRegistry`: those and the per-org and per-site series, for a scraper bearing
 *   the metrics token. An org never learns another org's sites or queue from /metrics.
 */
export class ServerMetrics {
  readonly publicRegistry = new Registry();
  /** The per-org and per-site series, only ever served with the public ones (`fullRegistry`). */
  private readonly detailRegistry = new Registry();
  /** Pending jobs in all, as of the last scheduling pass. */
  readonly queueLength = new Gauge({ name: 'suanli_queue_length', help: 'Jobs waiting to be placed, in all orgs, as of the last scheduling pass.', registers: [this.publicRegistry] });
  /** GPUs held by placed or running jobs, per GPU type, as of the last pass. */
  readonly gpusAllocated = new Gauge({ name: 'suanli_gpus_allocated', help: 'GPUs held by placed or running jobs, per GPU type, in all sites, as of the last scheduling pass.', labelNames: ['gpu_type'] as const, registers: [this.publicRegistry] });
  /** Pending jobs per org (detail). */
  readonly orgQueueLength = new Gauge({ name: 'suanli_org_queue_length', help: 'Jobs waiting to be placed, per org, as of the last scheduling pass.', labelNames: ['org'] as const, registers: [this.detailRegistry] });
  /** GPUs held per site and GPU type (detail). */
  readonly siteGpusAllocated = new Gauge({ name: 'suanli_site_gpus_allocated', help: 'GPUs held by placed or running jobs, per site and GPU type, as of the last scheduling pass.', labelNames: ['site', 'gpu_type'] as const, registers: [this.detailRegistry] });
  readonly passSeconds = new Histogram({
    name: 'suanli_scheduling_pass_seconds',
    help: 'Duration of one scheduling pass: read the snapshot, decide, commit.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.publicRegistry],
  });
  /** Every applied job state change; `from` is "none" for a submission. */
  readonly transitions = new Counter({ name: 'suanli_job_transitions_total', help: 'Job state transitions applied, by from and to state ("none" for a submission).', labelNames: ['from', 'to'] as const, registers: [this.publicRegistry] });
  readonly submitBatch = new Histogram({
    name: 'suanli_submit_batch_size',
    help: 'Submissions committed together in one transaction (group commit).',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [this.publicRegistry],
  });
  /**
   * Where the time from a submission to its run goes, per stage: `placed` (submitted → first placed), `received`
   * (placed → its site's agent was handed it) and `running` (handed → the agent reported it running).
   */
  readonly dispatchSeconds = new Histogram({
    name: 'suanli_dispatch_seconds',
    help: 'Time from a job\'s submission to its run, per stage: placed (submitted to first placed), received (placed to handed to its site\'s agent), running (handed to reported running).',
    labelNames: ['stage'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.publicRegistry],
  });
  /** Every series: the public ones and the detail. The same metric objects, so always current. */
  readonly fullRegistry = Registry.merge([this.publicRegistry, this.detailRegistry]);

  /** Replaces the per-pass gauges with a pass's figures, in total and in detail (orgs, sites and GPU types no longer in the pass disappear). */
  recordPass(seconds: number, queue: ReadonlyMap<string, number>, allocated: readonly { site: string; gpuType: string; gpus: number }[]): void {
    this.passSeconds.observe(seconds);
    this.orgQueueLength.reset();
    let waiting = 0;
    for (const [org, n] of queue) {
      this.orgQueueLength.set({ org }, n);
      waiting += n;
    }
    this.queueLength.set(waiting);
    this.siteGpusAllocated.reset();
    const byType = new Map<string, number>();
    for (const a of allocated) {
      this.siteGpusAllocated.set({ site: a.site, gpu_type: a.gpuType }, a.gpus);
      byType.set(a.gpuType, (byType.get(a.gpuType) ?? 0) + a.gpus);
    }
    this.gpusAllocated.reset();
    for (const [gpuType, gpus] of byType) this.gpusAllocated.set({ gpu_type: gpuType }, gpus);
  }
}
