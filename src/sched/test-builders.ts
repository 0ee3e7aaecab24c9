import { jobId, orgId, siteId } from '../model/ids.ts';
import { jobDefaults, type JobSpec } from '../model/job.ts';
import { DEFAULT_SHARE_POLICY, type OrgSpec, type PoolSpec, type SharePolicy, type SiteSpec } from '../model/pool.ts';
import { DEFAULT_MIN_SPAN_EFFICIENCY, type SpanSpec, type WanLinkSpec } from '../model/span.ts';

/**
 * Test builders (STYLE.md §14), so that scheduler tests read like the domain:
 *
 *   site('a1').org('a').nodes(2).gpusPerNode(8).type('h100').lend(0.5).build()
 *   job('j1').org('a').gpus(4).at(0).runs(3600).build()
 *   pool(site('a1').org('a'), site('b1').org('b'))
 *
 * Builders are immutable: every setter returns a new builder, so a base can be
 * shared (`const small = job('x').gpus(1)`). They read no clock and draw no random
 * numbers (this folder is a pure layer): every value is the test's own.
 */

interface SiteFields {
  id: string;
  org: string;
  nodes: number;
  gpusPerNode: number;
  gpuType: string;
  lendFraction: number;
  reclaim: boolean;
  reclaimNoticeS: number;
  region: string | null;
  /** The owner's lending rules beyond the fraction (SharePolicy's optional fields). */
  rules: Pick<SharePolicy, 'lendTo' | 'maxGpusPerBorrower' | 'borrowerGpuLimits' | 'containsBorrowed'>;
}

export class SiteBuilder {
  readonly #f: Readonly<SiteFields>;

  constructor(fields: Readonly<SiteFields>) {
    this.#f = fields;
  }

  #with(change: Partial<SiteFields>): SiteBuilder {
    return new SiteBuilder({ ...this.#f, ...change });
  }

  /** The owning org (default: the site id without its trailing digits, so 'a1' belongs to 'a'). */
  org(org: string): SiteBuilder {
    return this.#with({ org });
  }

  nodes(nodes: number): SiteBuilder {
    return this.#with({ nodes });
  }

  gpusPerNode(gpusPerNode: number): SiteBuilder {
    return this.#with({ gpusPerNode });
  }

  /** The site's GPU type (default 'h100'). */
  type(gpuType: string): SiteBuilder {
    return this.#with({ gpuType });
  }

  /** Fraction (0–1) of the GPUs other orgs may borrow (default 1). */
  lend(lendFraction: number): SiteBuilder {
    return this.#with({ lendFraction });
  }

  /** Whether the owner reclaims lent GPUs by preemption (default true). */
  reclaim(reclaim: boolean): SiteBuilder {
    return this.#with({ reclaim });
  }

  /** Seconds a borrower gets between a reclaim decision and its stop (default 0). */
  notice(reclaimNoticeS: number): SiteBuilder {
    return this.#with({ reclaimNoticeS });
  }

  /** Which orgs may borrow here (default every org). */
  lendTo(lendTo: 'all' | 'none' | readonly string[]): SiteBuilder {
    return this.#with({ rules: { ...this.#f.rules, lendTo } });
  }

  /** Most GPUs one borrowing org may hold here: every borrower's, or `org`'s own limit. */
  borrowerLimit(gpus: number, org?: string): SiteBuilder {
    const rules = this.#f.rules;
    return this.#with({ rules: org === undefined ? { ...rules, maxGpusPerBorrower: gpus } : { ...rules, borrowerGpuLimits: { ...rules.borrowerGpuLimits, [org]: gpus } } });
  }

  /** The owner requires borrowed work contained and the site's agent cannot contain it. */
  noContainment(): SiteBuilder {
    return this.#with({ rules: { ...this.#f.rules, containsBorrowed: false } });
  }

  /** The site's region (default none): a spanning job's ring visits sites by region. */
  region(region: string): SiteBuilder {
    return this.#with({ region });
  }

  build(): SiteSpec {
    const f = this.#f;
    return {
      ...(f.region === null ? {} : { region: f.region }),
      id: siteId(f.id),
      org: orgId(f.org),
      nodes: f.nodes,
      gpusPerNode: f.gpusPerNode,
      gpuType: f.gpuType,
      share: { ...DEFAULT_SHARE_POLICY, lendFraction: f.lendFraction, reclaim: f.reclaim, reclaimNoticeS: f.reclaimNoticeS, ...f.rules },
    };
  }
}

/** A site of one node of 8 H100s, lending everything, reclaiming without notice, unless told otherwise. */
export function site(id: string): SiteBuilder {
  return new SiteBuilder({
    id,
    org: id.replace(/[-_]?\d+$/, '') || id,
    nodes: 1,
    gpusPerNode: 8,
    gpuType: 'h100',
    lendFraction: DEFAULT_SHARE_POLICY.lendFraction,
    reclaim: DEFAULT_SHARE_POLICY.reclaim,
    reclaimNoticeS: DEFAULT_SHARE_POLICY.reclaimNoticeS,
    region: null,
    rules: {},
  });
}

interface JobFields {
  id: string;
  org: string;
  gpus: number;
  gpuTypes: readonly string[] | null;
  gang: boolean;
  submitS: number;
  durationS: number;
  /** null: the estimate is the duration (an oracle estimate, as the traces give). */
  estimateS: number | null;
  priority: number;
  preemptible: boolean;
  checkpointIntervalS: number | null;
  span: SpanSpec | null;
}

/**
 * A span spec for tests: replicas of 8 GPUs, 1 GB per synchronization, outer
 * steps of 100 s without overlap, a minimum efficiency of 0.8, spanning at once.
 * Over a 10 Gb/s, 0 ms ring of two sites a sync takes 0.8 s (efficiency 0.992).
 */
export function testSpan(change: Partial<SpanSpec> = {}): SpanSpec {
  return { minEfficiency: DEFAULT_MIN_SPAN_EFFICIENCY, replicaGpus: 8, syncBytes: 1e9, outerStepS: 100, hiddenS: 0, maxSingleSiteWaitS: 0, ...change };
}

export class JobBuilder {
  readonly #f: Readonly<JobFields>;

  constructor(fields: Readonly<JobFields>) {
    this.#f = fields;
  }

  #with(change: Partial<JobFields>): JobBuilder {
    return new JobBuilder({ ...this.#f, ...change });
  }

  org(org: string): JobBuilder {
    return this.#with({ org });
  }

  /** GPUs needed at once, and optionally the GPU types accepted (default: any). */
  gpus(gpus: number, ...types: string[]): JobBuilder {
    return this.#with(types.length > 0 ? { gpus, gpuTypes: types } : { gpus });
  }

  /** GPU types accepted; none means any. */
  types(...types: string[]): JobBuilder {
    return this.#with({ gpuTypes: types.length > 0 ? types : null });
  }

  gang(gang: boolean): JobBuilder {
    return this.#with({ gang });
  }

  /** Submit time, seconds. */
  at(submitS: number): JobBuilder {
    return this.#with({ submitS });
  }

  /** True run time, seconds; also the estimate unless `estimate` is set. */
  runs(durationS: number): JobBuilder {
    return this.#with({ durationS });
  }

  /** The submitter's estimate of the run time, seconds. */
  estimate(estimateS: number): JobBuilder {
    return this.#with({ estimateS });
  }

  priority(priority: number): JobBuilder {
    return this.#with({ priority });
  }

  preemptible(preemptible: boolean): JobBuilder {
    return this.#with({ preemptible });
  }

  /** Seconds between checkpoints; null: never checkpoints (all work is lost on preemption). */
  checkpoint(checkpointIntervalS: number | null): JobBuilder {
    return this.#with({ checkpointIntervalS });
  }

  /** The job may span sites, with `testSpan(change)`. */
  spans(change: Partial<SpanSpec> = {}): JobBuilder {
    return this.#with({ span: testSpan(change) });
  }

  build(): JobSpec {
    const f = this.#f;
    return {
      ...(f.span === null ? {} : { span: f.span }),
      id: jobId(f.id),
      org: orgId(f.org),
      gpus: f.gpus,
      gpuTypes: f.gpuTypes,
      gang: f.gang,
      submitS: f.submitS,
      estimateS: f.estimateS ?? f.durationS,
      durationS: f.durationS,
      priority: f.priority,
      preemptible: f.preemptible,
      checkpointIntervalS: f.checkpointIntervalS,
    };
  }
}

/** A 1-GPU job of org 'a' submitted at 0 that runs an hour, with the model's defaults elsewhere. */
export function job(id: string): JobBuilder {
  const d = jobDefaults();
  return new JobBuilder({
    id,
    org: 'a',
    gpus: 1,
    gpuTypes: d.gpuTypes,
    gang: d.gang,
    submitS: 0,
    durationS: 3600,
    estimateS: null,
    priority: d.priority,
    preemptible: d.preemptible,
    checkpointIntervalS: d.checkpointIntervalS,
    span: null,
  });
}

/** A pool of these sites; its orgs are the sites' owners, in order of first appearance. */
export function pool(...sites: readonly (SiteBuilder | SiteSpec)[]): PoolSpec {
  const specs = sites.map((s) => (s instanceof SiteBuilder ? s.build() : s));
  const orgs: OrgSpec[] = [];
  for (const s of specs) if (!orgs.some((o) => o.id === s.org)) orgs.push({ id: s.org });
  return { orgs, sites: specs };
}

/** WAN links from 'a1-b1:GBPS:MS' strings (latency optional, default 0), for `{ ...pool(…), links: wan(…) }`. */
export function wan(...links: readonly string[]): WanLinkSpec[] {
  return links.map((text) => {
    const [pair = '', gbps = '', ms = '0'] = text.split(':');
    const [a = '', b = ''] = pair.split('-');
    return { a: siteId(a), b: siteId(b), gbps: Number(gbps), latencyMs: Number(ms) };
  });
}
