/**
 * What `suanli demo` pools and runs: three members, each with one site of declared
 * GPUs, and a workload of real shell commands a few seconds long. Plain data, so the
 * story can be read (and changed) in one place:
 * - shanghai-studio owns 4 GPUs and submits an 8-GPU job: it runs only because
 *   another member's idle site takes it (the ledger then shows shanghai-studio
 *   consumed more than it contributed);
 * - beijing-lab submits a 16-GPU training job, more than any one site has (the
 *   largest has 8) though not more than the pool (20): it may span sites, so once
 *   enough GPUs are free it runs on two sites at once, over the WAN links between
 *   them (all parts start, or none).
 */
import type { Capacity } from '../model/capacity.ts';

export interface DemoMember {
  readonly orgId: string;
  readonly orgName: string;
  readonly siteName: string;
  /** The agent's local executor declares exactly these GPUs (no nvidia-smi needed). */
  readonly inventory: readonly Capacity[];
}

/** Why a job is in the workload, for the story the summary tells. */
export type DemoJobRole = 'own' | 'pooled' | 'spanning';

export interface DemoJob {
  readonly orgId: string;
  readonly name: string;
  readonly gpus: number;
  /** How long the command runs: one step per second. */
  readonly seconds: number;
  /** GPU types the job accepts; null: any. */
  readonly gpuTypes: readonly string[] | null;
  readonly role: DemoJobRole;
  /** The API's `span` body for a job that may span sites. */
  readonly span?: Readonly<Record<string, number>>;
}

export const DEMO_MEMBERS: readonly DemoMember[] = [
  { orgId: 'beijing-lab', orgName: 'Beijing Lab', siteName: 'beijing-h100', inventory: [{ gpuType: 'h100', nodes: 1, gpusPerNode: 8 }] },
  { orgId: 'shanghai-studio', orgName: 'Shanghai Studio', siteName: 'shanghai-a100', inventory: [{ gpuType: 'a100', nodes: 1, gpusPerNode: 4 }] },
  { orgId: 'shenzhen-univ', orgName: 'Shenzhen University', siteName: 'shenzhen-l20', inventory: [{ gpuType: 'l20', nodes: 1, gpusPerNode: 8 }] },
];

/**
 * Submitted in this order, all at once. beijing-lab's and shenzhen-univ's jobs ask for
 * their own GPU type, so the only borrowing is the story's: shanghai-studio's jobs
 * accept any GPU.
 */
export const DEMO_JOBS: readonly DemoJob[] = [
  { orgId: 'beijing-lab', name: 'pretrain-shard-a', gpus: 4, seconds: 8, gpuTypes: ['h100'], role: 'own' },
  { orgId: 'beijing-lab', name: 'pretrain-shard-b', gpus: 4, seconds: 8, gpuTypes: ['h100'], role: 'own' },
  { orgId: 'beijing-lab', name: 'finetune-7b', gpus: 8, seconds: 8, gpuTypes: ['h100'], role: 'own' },
  { orgId: 'beijing-lab', name: 'eval-suite', gpus: 2, seconds: 5, gpuTypes: ['h100'], role: 'own' },
  { orgId: 'shanghai-studio', name: 'storyboard', gpus: 2, seconds: 6, gpuTypes: null, role: 'own' },
  { orgId: 'shanghai-studio', name: 'video-gen-720p', gpus: 4, seconds: 8, gpuTypes: null, role: 'own' },
  { orgId: 'shanghai-studio', name: 'upscale', gpus: 1, seconds: 4, gpuTypes: null, role: 'own' },
  { orgId: 'shanghai-studio', name: 'video-gen-1080p', gpus: 8, seconds: 8, gpuTypes: null, role: 'pooled' },
  { orgId: 'shenzhen-univ', name: 'course-lab', gpus: 1, seconds: 4, gpuTypes: ['l20'], role: 'own' },
  { orgId: 'shenzhen-univ', name: 'thesis-run', gpus: 2, seconds: 8, gpuTypes: ['l20'], role: 'own' },
  { orgId: 'shenzhen-univ', name: 'hparam-sweep', gpus: 4, seconds: 6, gpuTypes: ['l20'], role: 'own' },
  // Replicas of 4 GPUs, 1 GB per synchronization after 60 s of compute: over 10 Gb/s, 97% efficient.
  { orgId: 'beijing-lab', name: 'foundation-model', gpus: 16, seconds: 12, gpuTypes: null, role: 'spanning', span: { replica_gpus: 4, params: 1e9, bytes_per_param: 1, outer_step_s: 60, min_efficiency: 0.8, max_single_site_wait_s: 0 } },
];

/** The WAN between the members' sites, by site name: what a spanning job synchronizes over. */
export const DEMO_WAN: readonly { readonly a: string; readonly b: string; readonly gbps: number; readonly latencyMs: number }[] = [
  { a: 'beijing-h100', b: 'shanghai-a100', gbps: 10, latencyMs: 15 },
  { a: 'shanghai-a100', b: 'shenzhen-l20', gbps: 10, latencyMs: 12 },
  { a: 'beijing-h100', b: 'shenzhen-l20', gbps: 10, latencyMs: 25 },
];

/**
 * The command a demo job runs: one line a second naming the run and the GPUs the
 * executor gave it (SUANLI_RUN_ID, SUANLI_NODE and CUDA_VISIBLE_DEVICES, set by
 * every executor), then exit 0. Plain POSIX sh, so it runs wherever the agent does.
 */
export function jobArgv(job: DemoJob): string[] {
  const script = `i=1; while [ "$i" -le ${job.seconds} ]; do echo "${job.name} step $i/${job.seconds}: run $SUANLI_RUN_ID on $SUANLI_NODE, CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"; sleep 1; i=$((i + 1)); done`;
  return ['sh', '-c', script];
}

/** GPUs a member's site declares. */
export const gpusOf = (member: DemoMember): number => member.inventory.reduce((n, c) => n + c.nodes * c.gpusPerNode, 0);

/** "h100", or "h100+a100" for a site of several types. */
export const gpuTypesOf = (member: DemoMember): string => member.inventory.map((c) => c.gpuType).join('+');
