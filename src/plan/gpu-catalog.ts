import { InvalidInputError } from '../model/errors.ts';

/**
 * One GPU type as the planner sees it. Bandwidths are per GPU and per direction.
 * `efficiency` is the achieved fraction of peak dense BF16 on large-sequence
 * transformer work (MFU); peak alone mispredicts, so every type carries its own,
 * and every command lets the user override it.
 */
export interface GpuSpec {
  readonly id: string;
  readonly name: string;
  /** Peak dense BF16 (FP16 where the vendor gives no BF16 figure) tensor throughput, FLOP/s, no sparsity. */
  readonly peakFlops: number;
  readonly memoryBytes: number;
  readonly memoryBandwidthBytesPerSecond: number;
  /** Scale-up link inside a node (NVLink, HCCS, PCIe), bytes/s per direction. */
  readonly scaleUpBytesPerSecond: number;
  readonly scaleUpLink: string;
  /** Scale-out network per GPU between nodes (InfiniBand / RoCE), bytes/s per direction. An assumption, stated. */
  readonly scaleOutBytesPerSecond: number;
  readonly gpusPerNode: number;
  readonly powerWatts: number;
  readonly efficiency: number;
  /** Where the figures come from; [U] marks a figure whose sources conflict. */
  readonly source: string;
}

const TB = 1e12;
const GB = 1e9;
const GiB = 2 ** 30;

/**
 * Efficiency defaults: measured single-GPU DiT generation runs at roughly 25–50%
 * of peak on H100-class parts (shared/reference/video-models.md); Ampere parts
 * reach a higher fraction of their lower peak; the compute-poor H20 runs near its
 * (low) peak because it is bandwidth-rich. Override with --efficiency.
 */
export const GPU_CATALOG: readonly GpuSpec[] = [
  {
    id: 'h100', name: 'NVIDIA H100 SXM5 80GB', peakFlops: 989e12, memoryBytes: 80 * GB,
    memoryBandwidthBytesPerSecond: 3.35 * TB, scaleUpBytesPerSecond: 450 * GB, scaleUpLink: 'NVLink4 900 GB/s bidirectional',
    scaleOutBytesPerSecond: 50 * GB, gpusPerNode: 8, powerWatts: 700, efficiency: 0.4,
    source: 'NVIDIA H100 Tensor Core GPU datasheet (SXM5: 989 TFLOPS BF16 dense, 80 GB HBM3, 3.35 TB/s, NVLink 900 GB/s, 700 W); 400 Gb/s NDR per GPU assumed',
  },
  {
    id: 'h800', name: 'NVIDIA H800 SXM5 80GB', peakFlops: 989e12, memoryBytes: 80 * GB,
    memoryBandwidthBytesPerSecond: 3.35 * TB, scaleUpBytesPerSecond: 200 * GB, scaleUpLink: 'NVLink 400 GB/s bidirectional',
    scaleOutBytesPerSecond: 50 * GB, gpusPerNode: 8, powerWatts: 700, efficiency: 0.4,
    source: 'H100 die with NVLink cut to 400 GB/s for the China market (secondary sources: NVIDIA partner spec sheets); compute and memory as H100 SXM',
  },
  {
    id: 'h200', name: 'NVIDIA H200 SXM 141GB', peakFlops: 989e12, memoryBytes: 141 * GB,
    memoryBandwidthBytesPerSecond: 4.8 * TB, scaleUpBytesPerSecond: 450 * GB, scaleUpLink: 'NVLink4 900 GB/s bidirectional',
    scaleOutBytesPerSecond: 50 * GB, gpusPerNode: 8, powerWatts: 700, efficiency: 0.42,
    source: 'NVIDIA H200 Tensor Core GPU datasheet (989 TFLOPS BF16 dense, 141 GB HBM3e, 4.8 TB/s, NVLink 900 GB/s, up to 700 W)',
  },
  {
    id: 'h20', name: 'NVIDIA H20 96GB', peakFlops: 148e12, memoryBytes: 96 * GB,
    memoryBandwidthBytesPerSecond: 4.0 * TB, scaleUpBytesPerSecond: 450 * GB, scaleUpLink: 'NVLink 900 GB/s bidirectional',
    scaleOutBytesPerSecond: 50 * GB, gpusPerNode: 8, powerWatts: 400, efficiency: 0.75,
    source: 'secondary sources (partner spec sheets, press): 148 TFLOPS BF16 dense, 96 GB HBM3, 4.0 TB/s, NVLink 900 GB/s, 400 W',
  },
  {
    id: 'a100', name: 'NVIDIA A100 SXM4 80GB', peakFlops: 312e12, memoryBytes: 80 * GB,
    memoryBandwidthBytesPerSecond: 2.039 * TB, scaleUpBytesPerSecond: 300 * GB, scaleUpLink: 'NVLink3 600 GB/s bidirectional',
    scaleOutBytesPerSecond: 25 * GB, gpusPerNode: 8, powerWatts: 400, efficiency: 0.55,
    source: 'NVIDIA A100 Tensor Core GPU datasheet (SXM 80GB: 312 TFLOPS BF16 dense, 2,039 GB/s, NVLink 600 GB/s, 400 W); 200 Gb/s HDR per GPU assumed',
  },
  {
    id: 'a800', name: 'NVIDIA A800 SXM4 80GB', peakFlops: 312e12, memoryBytes: 80 * GB,
    memoryBandwidthBytesPerSecond: 2.039 * TB, scaleUpBytesPerSecond: 200 * GB, scaleUpLink: 'NVLink 400 GB/s bidirectional',
    scaleOutBytesPerSecond: 25 * GB, gpusPerNode: 8, powerWatts: 400, efficiency: 0.55,
    source: 'A100 with NVLink cut to 400 GB/s for the China market (secondary sources); compute and memory as A100 SXM 80GB',
  },
  {
    id: 'ascend-910b', name: 'Huawei Ascend 910B', peakFlops: 313e12, memoryBytes: 64 * GB,
    memoryBandwidthBytesPerSecond: 1.6 * TB, scaleUpBytesPerSecond: 196 * GB, scaleUpLink: 'HCCS ~392 GB/s [U]',
    scaleOutBytesPerSecond: 25 * GB, gpusPerNode: 8, powerWatts: 400, efficiency: 0.35,
    source: '[U] secondary sources conflict (280–376 TFLOPS FP16); 313 TFLOPS FP16, 64 GB HBM2e, ~1.6 TB/s, HCCS ~392 GB/s, ~400 W taken as midpoints',
  },
  {
    id: 'l20', name: 'NVIDIA L20 48GB', peakFlops: 119.5e12, memoryBytes: 48 * GB,
    memoryBandwidthBytesPerSecond: 864 * GB, scaleUpBytesPerSecond: 32 * GB, scaleUpLink: 'PCIe Gen4 x16',
    scaleOutBytesPerSecond: 12.5 * GB, gpusPerNode: 8, powerWatts: 275, efficiency: 0.55,
    source: '[U] secondary sources: 119.5 TFLOPS FP16 dense, 48 GB GDDR6, 864 GB/s, PCIe Gen4, 275 W; 100 Gb/s Ethernet per GPU assumed',
  },
  {
    id: 'rtx-4090', name: 'NVIDIA GeForce RTX 4090 24GB', peakFlops: 165.2e12, memoryBytes: 24 * GB,
    memoryBandwidthBytesPerSecond: 1.008 * TB, scaleUpBytesPerSecond: 25 * GB, scaleUpLink: 'PCIe Gen4 x16, no peer-to-peer',
    scaleOutBytesPerSecond: 12.5 * GB, gpusPerNode: 8, powerWatts: 450, efficiency: 0.55,
    source: 'NVIDIA Ada Lovelace architecture whitepaper (RTX 4090: 165.2 TFLOPS FP16/BF16 tensor with FP32 accumulate, dense; 24 GB GDDR6X, 1,008 GB/s, 450 W)',
  },
];

/** Bytes in a GiB, for display and for tests that state memory in GiB. */
export const BYTES_PER_GIB = GiB;

export function findGpu(id: string): GpuSpec {
  const gpu = GPU_CATALOG.find((g) => g.id === id.toLowerCase());
  if (!gpu) throw new InvalidInputError('gpu', `unknown GPU id "${id}"`, GPU_CATALOG.map((g) => g.id).join(', '));
  return gpu;
}

/** The catalog entry with the user's efficiency override applied (validated: 0 < e ≤ 1). */
export function withEfficiency(gpu: GpuSpec, efficiency: number | undefined): GpuSpec {
  if (efficiency === undefined) return gpu;
  if (!(efficiency > 0 && efficiency <= 1)) throw new InvalidInputError('efficiency', `must be in (0, 1], got ${efficiency}`, 'a fraction such as 0.4');
  return { ...gpu, efficiency };
}
