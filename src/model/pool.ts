import type { OrgId, SiteId } from './ids.ts';
import type { WanLinkSpec } from './span.ts';

/**
 * What a site's owner lets the pool do with its GPUs. The owner's own jobs may
 * always use all of them; other orgs may borrow up to `lendFraction` of them.
 */
export interface SharePolicy {
  /** Fraction (0–1) of the site's GPUs that other orgs may use. */
  readonly lendFraction: number;
  /** Whether the owner takes lent GPUs back by preempting borrowers when its own jobs wait. */
  readonly reclaim: boolean;
  /** Seconds a borrower is given, after a reclaim is decided, before it is stopped. */
  readonly reclaimNoticeS: number;
  /** Which orgs may borrow here: every org (absent, or 'all'), none, or only the orgs listed. */
  readonly lendTo?: 'all' | 'none' | readonly string[];
  /** Most GPUs any one borrowing org may hold here at once (absent or null: only `lendFraction` bounds it)… */
  readonly maxGpusPerBorrower?: number | null;
  /** …or, for the orgs named, each its own limit (overrides `maxGpusPerBorrower`). */
  readonly borrowerGpuLimits?: Readonly<Record<string, number>>;
  /**
   * false when the owner requires borrowed work to be contained (sandboxed) and the
   * site's agent cannot contain it: nothing is lent until it can. Absent: no obstacle.
   */
  readonly containsBorrowed?: boolean;
  /** true when borrowed runs get no network (contained, with a private loopback): a borrower's spanning part here could not reach the others. */
  readonly isolatesBorrowed?: boolean;
}

/** Whether the owner lends to `org` at all (its own org always may use its site). */
export function lendsTo(share: SharePolicy, org: string): boolean {
  const to = share.lendTo;
  if (to === undefined || to === 'all') return true;
  if (to === 'none') return false;
  return to.includes(org);
}

/** The owner's own limit on the GPUs one borrowing org may hold here; Infinity when it set none. */
export function borrowerGpuLimit(share: SharePolicy, org: string): number {
  return share.borrowerGpuLimits?.[org] ?? share.maxGpusPerBorrower ?? Number.POSITIVE_INFINITY;
}

export const DEFAULT_SHARE_POLICY: SharePolicy = { lendFraction: 1, reclaim: true, reclaimNoticeS: 0 };

/** One member cluster: `nodes` machines of `gpusPerNode` GPUs of one type, owned by one org. */
export interface SiteSpec {
  readonly id: SiteId;
  readonly org: OrgId;
  readonly nodes: number;
  readonly gpusPerNode: number;
  readonly gpuType: string;
  readonly pricePerGpuHour?: number;
  readonly region?: string;
  readonly share: SharePolicy;
  /** false: its runs accept no connections from other sites, so it takes no part of a job that spans sites (default true). */
  readonly spanReachable?: boolean;
}

export interface OrgSpec {
  readonly id: OrgId;
  readonly name?: string;
}

export interface PoolSpec {
  readonly orgs: readonly OrgSpec[];
  readonly sites: readonly SiteSpec[];
  /** WAN links between sites, over which spanning jobs synchronize; none by default. */
  readonly links?: readonly WanLinkSpec[];
  /**
   * Relative throughput per GPU type id (lower case), for pools of mixed generations: a job's
   * duration is its time on a GPU of speed 1, and on a GPU of speed s it runs 1/s as long.
   * Fair share counts GPUs × speed, both what an org contributes and what it holds. A type not
   * listed runs at 1; none listed: every GPU is alike.
   */
  readonly gpuSpeeds?: Readonly<Record<string, number>>;
}

export const siteGpus = (s: SiteSpec): number => s.nodes * s.gpusPerNode;

/** The relative speed of a GPU type in `pool` (1 when not given). */
export const gpuSpeedOf = (pool: Pick<PoolSpec, 'gpuSpeeds'>, gpuType: string): number => pool.gpuSpeeds?.[gpuType.toLowerCase()] ?? 1;
