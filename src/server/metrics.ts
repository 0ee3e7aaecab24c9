import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The control plane's Prometheus metrics, on a registry of its own (so that two
 * servers in one process, as in tests, never share counters). Served at /metrics.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  /** Pending jobs per org, as of the last scheduling pass. */
  readonly queueLength = new Gauge({ name: 'suanli_queue_length', help: 'Jobs waiting to be placed, per org, as of the last scheduling pass.', labelNames: ['org'] as const, registers: [this.registry] });
  /** GPUs held by placed or running jobs, per site and GPU type, as of the last pass. */
  readonly gpusAllocated = new Gauge({ name: 'suanli_gpus_allocated', help: 'GPUs held by placed or running jobs, per site and GPU type, as of the last scheduling pass.', labelNames: ['site', 'gpu_type'] as const, registers: [this.registry] });
  readonly passSeconds = new Histogram({
    name: 'suanli_scheduling_pass_seconds',
    help: 'Duration of one scheduling pass: read the snapshot, decide, commit.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  /** Every applied job state change; `from` is "none" for a submission. */
  readonly transitions = new Counter({ name: 'suanli_job_transitions_total', help: 'Job state transitions applied, by from and to state ("none" for a submission).', labelNames: ['from', 'to'] as const, registers: [this.registry] });
  readonly submitBatch = new Histogram({
    name: 'suanli_submit_batch_size',
    help: 'Submissions committed together in one transaction (group commit).',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [this.registry],
  });

  /** Replaces the per-pass gauges with a pass's figures (orgs or sites that went to zero disappear). */
  recordPass(seconds: number, queue: ReadonlyMap<string, number>, allocated: readonly { site: string; gpuType: string; gpus: number }[]): void {
    this.passSeconds.observe(seconds);
    this.queueLength.reset();
    for (const [org, n] of queue) this.queueLength.set({ org }, n);
    this.gpusAllocated.reset();
    for (const a of allocated) this.gpusAllocated.set({ site: a.site, gpu_type: a.gpuType }, a.gpus);
  }
}
