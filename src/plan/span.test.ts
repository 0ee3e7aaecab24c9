import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { GPU_CATALOG, findGpu } from './gpu-catalog.ts';
import { SPAN_FIGURES, compareSpanFigure, intellect1Plan } from './span-figures.ts';
import { paramsSpanWork, textSpanWork, videoSpanWork } from './span-work.ts';
import { HOPELESS_UTILIZATION, bottleneckRing, planSpan, type SpanRequest, type SpanSite, type WanLink } from './span.ts';
import { MEASURED_DEVICE } from './span-topology.ts';
import { planText } from './text-cost.ts';
import { findTextModel } from './text-models.ts';
import { planTrain } from './train-cost.ts';
import { findVideoModel } from './video-models.ts';

const h100 = findGpu('h100');
const a100 = findGpu('a100');
const tenB = paramsSpanWork(10e9, 8192, { tokens: 1e12 });
const fieldIs = (field: string) => (e: unknown) => (e as { field?: string }).field === field;

/** Two sites joined by one link; the rest of the request as INTELLECT-1 ran (H = 100, int8). */
function twoSites(change: Partial<SpanRequest> = {}): SpanRequest {
  return {
    work: tenB,
    sites: [{ id: 'a', gpu: h100, gpus: 64 }, { id: 'b', gpu: a100, gpus: 64 }],
    links: [{ a: 'a', b: 'b', gbps: 10, latencyMs: 30 }],
    innerSteps: 100, bytesPerParam: 1, stragglers: 'proportional', batchTokensPerReplica: 2 ** 20,
    ...change,
  };
}

// Published cross-site runs (src/plan/span-figures.ts): each check states its tolerance;
// the assumptions behind it (links, node count, MFU, batch) are listed in the figure.
for (const f of SPAN_FIGURES) {
  const held = f.unit === 'utilization' ? `within ${f.tolerance * 100} points of ${f.publishedRange ? `${f.publishedRange[0] * 100}–${f.publishedRange[1] * 100}%` : `${f.published * 100}%`}` : `within ×${f.tolerance} of ${f.published}`;
  test(`${f.run}: ${f.what} (${f.conditions}) — ${held}`, () => {
    const { planner, within } = compareSpanFigure(f);
    assert.ok(within, `planner ${planner} vs published ${f.published}; assumptions: ${f.assumptions.join('; ')}; source: ${f.source}`);
    assert.ok(f.assumptions.length > 0 && f.source.length > 20, 'every check says what it assumes and where the figure is from');
  });
}

test('INTELLECT-1 ordering holds: the farther the nodes, the lower the utilization', () => {
  const [usa, europe, global] = [intellect1Plan(1, 30), intellect1Plan(0.5, 75), intellect1Plan(0.5, 150)];
  assert.ok(usa.compute_utilization > europe.compute_utilization && europe.compute_utilization > global.compute_utilization);
  assert.equal(usa.verdict, 'efficient');
});

test('plain data parallelism (H = 1, BF16) for a 10B model over 1 Gb/s is hopeless', () => {
  // INTELLECT-1's nodes: ~38 GB per step through every node (scheduling-research.md §4.3: "about 40 GB per step, or 320 s at 1 Gb/s").
  const nodes = intellect1Plan(1, 30, { innerSteps: 1, bytesPerParam: 2 });
  assert.ok(nodes.wan_bytes_per_site_per_sync > 35e9 && nodes.wan_bytes_per_site_per_sync < 41e9, `${nodes.wan_bytes_per_site_per_sync}`);
  assert.ok(nodes.wan_sync_seconds > 280 && nodes.wan_sync_seconds < 340, `${nodes.wan_sync_seconds} s`);
  assert.ok(nodes.compute_utilization < HOPELESS_UTILIZATION, `${nodes.compute_utilization}`);
  assert.equal(nodes.verdict, 'hopeless');
  assert.match(nodes.verdict_reason, /^hopeless: .*Synchronize less often/);
  // Two large sites compute a step in a fraction of a second: utilization well under 1%.
  const sites = planSpan(twoSites({ sites: [{ id: 'a', gpu: h100, gpus: 1024 }, { id: 'b', gpu: a100, gpus: 512 }], links: [{ a: 'a', b: 'b', gbps: 1, latencyMs: 30 }], innerSteps: 1, bytesPerParam: 2 }));
  assert.ok(sites.compute_utilization < 0.01, `${sites.compute_utilization}`);
  assert.ok(sites.speedup_over_best_site < 1, 'one site alone finishes sooner');
  // The same sites with DiLoCo (H = 100, int8) are not hopeless.
  assert.notEqual(planSpan(twoSites({ sites: sites.sites.map((s) => ({ id: s.id, gpu: findGpu(s.gpu), gpus: s.gpus })), links: [{ a: 'a', b: 'b', gbps: 1, latencyMs: 30 }], batchTokensPerReplica: 16 * 2 ** 20 })).verdict, 'hopeless');
});

test('uniform links reproduce scheduling-research.md §4.3 exactly: t_sync = 2·N·b·(S−1)/S ÷ W + 2(S−1)·ε, CU = H·t / (H·t + t_sync)', () => {
  const S = 5;
  const W = 2.5;
  const eps = 0.04;
  const sites: SpanSite[] = Array.from({ length: S }, (_, i) => ({ id: `s${i}`, gpu: h100, gpus: 8 }));
  const links: WanLink[] = sites.flatMap((x, i) => sites.slice(i + 1).map((y) => ({ a: x.id, b: y.id, gbps: W, latencyMs: eps * 1000 })));
  const p = planSpan({ ...twoSites(), sites, links, innerSteps: 50, bytesPerParam: 0.5 });
  const tSync = (2 * 10e9 * 0.5 * ((S - 1) / S)) / ((W * 1e9) / 8) + 2 * (S - 1) * eps;
  assert.ok(Math.abs(p.wan_sync_seconds - tSync) < 1e-9 * tSync);
  const tStep = (2 ** 20 * S * 6 * 10e9) / (S * 8 * h100.peakFlops * h100.efficiency);
  assert.ok(Math.abs(p.compute_utilization - (50 * tStep) / (50 * tStep + tSync)) < 1e-12);
  assert.equal(p.wan_bytes_total_per_sync, 2 * (S - 1) * 10e9 * 0.5);
  assert.equal(p.replicas, S);
  assert.ok(Math.abs(p.wall_seconds - (p.inner_steps_total / 50) * p.outer_step_seconds) < 1e-6);
});

test('measured inner steps (hardware outside the catalog): the step time stands for FLOPs and efficiency; CU = H·t / (H·t + t_sync) with the measured t', () => {
  const t = 0.004;
  const sites: SpanSite[] = [{ id: 'a', gpu: MEASURED_DEVICE, gpus: 1, innerStepS: t }, { id: 'b', gpu: MEASURED_DEVICE, gpus: 1, innerStepS: t }];
  const p = planSpan({ work: paramsSpanWork(24_000, 1, { steps: 80 }), sites, links: [{ a: 'a', b: 'b', gbps: 0.1, latencyMs: 1 }], innerSteps: 10, bytesPerParam: 1, stragglers: 'proportional', batchTokensPerReplica: 64 });
  const tSync = (2 * 24_000 * 1 * (1 / 2)) / ((0.1 * 1e9) / 8) + 2 * 0.001;
  assert.ok(Math.abs(p.wan_sync_seconds - tSync) < 1e-12);
  assert.ok(Math.abs(p.compute_seconds_per_outer_step - 10 * t) < 1e-12, 'H measured steps');
  assert.ok(Math.abs(p.compute_utilization - (10 * t) / (10 * t + tSync)) < 1e-12);
  assert.ok(p.assumptions.some((a) => a.startsWith('site a: one inner step of one replica as measured')));
  // A faster measured site takes a larger share of the batch, and the step is that of both together.
  const uneven = planSpan({ work: paramsSpanWork(24_000, 1, { steps: 80 }), sites: [sites[0] as SpanSite, { id: 'b', gpu: MEASURED_DEVICE, gpus: 1, innerStepS: t / 3 }], links: [{ a: 'a', b: 'b', gbps: 0.1, latencyMs: 1 }], innerSteps: 10, bytesPerParam: 1, stragglers: 'proportional', batchTokensPerReplica: 64 });
  assert.deepEqual(uneven.sites.map((x) => x.batch_tokens_per_replica), [32, 96]);
  assert.ok(Math.abs((uneven.sites[0]?.inner_step_seconds ?? 0) - t / 2) < 1e-12);
  assert.throws(() => planSpan({ work: paramsSpanWork(24_000, 1, { steps: 80 }), sites: [{ ...sites[0] as SpanSite, innerStepS: 0 }], links: [], innerSteps: 10, bytesPerParam: 1, stragglers: 'proportional', batchTokensPerReplica: 64 }), /step-time/);
});

test('the ring avoids a slow link when a ring without it exists, and says which link limits it', () => {
  const sites: SpanSite[] = ['a', 'b', 'c', 'd'].map((id) => ({ id, gpu: h100, gpus: 8 }));
  const fast = (a: string, b: string): WanLink => ({ a, b, gbps: 10, latencyMs: 10 });
  const links = [fast('a', 'b'), fast('b', 'c'), fast('c', 'd'), { a: 'd', b: 'a', gbps: 5, latencyMs: 10 }, { a: 'a', b: 'c', gbps: 0.1, latencyMs: 200 }];
  const p = planSpan(twoSites({ sites, links }));
  assert.equal(p.wan_bottleneck_link, 'd-a');
  assert.equal(p.wan_links.find((l) => l.between === 'a-c')?.in_ring, false);
  assert.deepEqual(new Set(p.wan_ring), new Set(['a', 'b', 'c', 'd']));
  assert.throws(() => planSpan(twoSites({ sites, links: [fast('a', 'b'), fast('b', 'c'), fast('c', 'd')] })), fieldIs('wan'));
});

test('bottleneckRing is exact: no ring through all nodes has a cheaper slowest edge', () => {
  fc.assert(fc.property(fc.integer({ min: 3, max: 7 }), fc.array(fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }), { minLength: 21, maxLength: 21 }), (n, raw) => {
    const cost = (i: number, j: number) => raw[Math.min(i, j) * 7 + Math.max(i, j) - ((Math.min(i, j) + 1) * (Math.min(i, j) + 2)) / 2];
    const found = bottleneckRing(n, cost);
    // Brute force over permutations of 1..n−1 after node 0.
    let best = Infinity;
    const perm = (rest: number[], order: number[]) => {
      if (rest.length === 0) {
        const edges = order.map((v, k) => cost(v, order[(k + 1) % n] ?? 0));
        if (edges.every((c) => c !== undefined)) best = Math.min(best, Math.max(...edges));
        return;
      }
      rest.forEach((v, k) => perm([...rest.slice(0, k), ...rest.slice(k + 1)], [...order, v]));
    };
    perm(Array.from({ length: n - 1 }, (_, k) => k + 1), [0]);
    if (best === Infinity) assert.equal(found, undefined);
    else {
      assert.equal(found?.bottleneck, best);
      assert.equal(new Set(found?.order).size, n);
    }
  }), { numRuns: 60 });
});

// Physics: the planner's answers move the way the world does.
/** Sites of 64+ GPUs with ≥ 64 GB each: every one holds a replica (≥ 8 GPUs) of up to 20B parameters (16 B/param, 90% usable). */
const siteArb = fc.record({ gpu: fc.constantFrom(...GPU_CATALOG.filter((g) => g.memoryBytes >= 64e9)), gpus: fc.integer({ min: 64, max: 2048 }), intra: fc.option(fc.double({ min: 25, max: 800, noNaN: true }), { nil: undefined }) });
const requestArb = fc.record({
  sites: fc.array(siteArb, { minLength: 1, maxLength: 5 }),
  gbps: fc.array(fc.double({ min: 0.01, max: 400, noNaN: true }), { minLength: 10, maxLength: 10 }),
  latency: fc.array(fc.double({ min: 0, max: 300, noNaN: true }), { minLength: 10, maxLength: 10 }),
  params: fc.double({ min: 1e8, max: 2e10, noNaN: true }),
  H: fc.integer({ min: 1, max: 1000 }),
  b: fc.constantFrom(0.5, 1, 2, 4),
  batch: fc.double({ min: 1e4, max: 1e8, noNaN: true }),
  overlap: fc.option(fc.record({ fragments: fc.integer({ min: 1, max: 8 }), windowSteps: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }) }), { nil: undefined }),
  stragglers: fc.constantFrom('proportional' as const, 'wait' as const),
  gpusPerReplica: fc.option(fc.constantFrom(8, 16, 64), { nil: undefined }),
}).map((r): SpanRequest => {
  const sites: SpanSite[] = r.sites.map((s, i) => ({ id: `s${i}`, gpu: s.gpu, gpus: s.gpus, ...(s.intra === undefined ? {} : { intraSiteGbps: s.intra }) }));
  const links: WanLink[] = sites.flatMap((x, i) => sites.slice(i + 1).map((y, k) => ({ a: x.id, b: y.id, gbps: r.gbps[(i * 3 + k) % 10] ?? 1, latencyMs: r.latency[(i * 3 + k) % 10] ?? 0 })));
  return {
    work: paramsSpanWork(r.params, 4096, { tokens: 1e12 }), sites, links, innerSteps: r.H, bytesPerParam: r.b, stragglers: r.stragglers, batchTokensPerReplica: r.batch,
    ...(r.overlap === undefined ? {} : { overlap: { fragments: r.overlap.fragments, ...(r.overlap.windowSteps === undefined ? {} : { windowSteps: r.overlap.windowSteps }) } }),
    ...(r.gpusPerReplica === undefined ? {} : { gpusPerReplica: r.gpusPerReplica }),
  };
});
const cu = (req: SpanRequest) => planSpan(req).compute_utilization;
const atLeast = (more: number, less: number) => more >= less * (1 - 1e-12);

test('utilization is in (0, 1], and every figure is finite and non-negative', () => {
  fc.assert(fc.property(requestArb, (req) => {
    const p = planSpan(req);
    assert.ok(p.compute_utilization > 0 && p.compute_utilization <= 1 + 1e-12, `${p.compute_utilization}`);
    for (const [k, v] of Object.entries(p)) if (typeof v === 'number') assert.ok(Number.isFinite(v) && v >= 0, `${k} = ${v}`);
    assert.ok(p.outer_step_seconds >= p.sync_seconds - 1e-9, 'an outer step is never shorter than moving its bytes');
  }), { numRuns: 150 });
});

test('more WAN bandwidth never lowers utilization (one link or all of them)', () => {
  fc.assert(fc.property(requestArb, fc.double({ min: 1, max: 100, noNaN: true }), fc.nat(), (req, factor, which) => {
    const base = cu(req);
    assert.ok(atLeast(cu({ ...req, links: req.links.map((l) => ({ ...l, gbps: l.gbps * factor })) }), base));
    const k = req.links.length === 0 ? -1 : which % req.links.length;
    assert.ok(atLeast(cu({ ...req, links: req.links.map((l, i) => (i === k ? { ...l, gbps: l.gbps * factor } : l)) }), base));
    assert.ok(atLeast(cu({ ...req, links: req.links.map((l) => ({ ...l, latencyMs: l.latencyMs / factor })) }), base), 'nor does lower latency');
  }), { numRuns: 100 });
});

test('a larger H never lowers utilization', () => {
  fc.assert(fc.property(requestArb, fc.integer({ min: 1, max: 500 }), (req, more) => {
    assert.ok(atLeast(cu({ ...req, innerSteps: req.innerSteps + more }), cu(req)));
  }), { numRuns: 100 });
});

function withoutOverlap({ overlap, ...rest }: SpanRequest): SpanRequest {
  return rest;
}

test('overlap never hurts, and a wider overlap window never hurts', () => {
  fc.assert(fc.property(requestArb, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 50 }), (req, fragments, window) => {
    const without = withoutOverlap(req);
    const narrow = cu({ ...without, overlap: { fragments, windowSteps: window } });
    assert.ok(atLeast(narrow, cu(without)));
    assert.ok(atLeast(cu({ ...without, overlap: { fragments, windowSteps: window + 1 } }), narrow));
    assert.ok(atLeast(cu({ ...without, overlap: { fragments: 1 } }), narrow), 'overlapping the whole next outer step hides the most');
  }), { numRuns: 100 });
});

test('proportional batches are never worse than waiting for the slowest replica', () => {
  fc.assert(fc.property(requestArb, (req) => {
    assert.ok(atLeast(cu({ ...req, stragglers: 'proportional' }), cu({ ...req, stragglers: 'wait' })));
  }), { numRuns: 100 });
});

test('heterogeneous replicas: proportional batches finish together; equal batches wait for the slowest', () => {
  const prop = planSpan(twoSites());
  const wait = planSpan(twoSites({ stragglers: 'wait' }));
  assert.equal(prop.straggler_wait_seconds_per_outer_step, 0);
  assert.equal(prop.sites[0]?.inner_step_seconds, prop.sites[1]?.inner_step_seconds);
  assert.ok((prop.sites[0]?.batch_tokens_per_replica ?? 0) > (prop.sites[1]?.batch_tokens_per_replica ?? 0), 'the H100 site takes the larger batch');
  assert.ok(wait.straggler_wait_seconds_per_outer_step > 0);
  assert.ok((wait.sites[0]?.busy_share ?? 1) < (wait.sites[1]?.busy_share ?? 0), 'the fast site idles');
  assert.match(wait.convergence_assumptions.join('\n'), /fast replicas wait for the slowest/);
  assert.match(prop.convergence_assumptions.join('\n'), /in proportion to their speed/);
});

test('replicas per site: a site splits into replicas of --gpus-per-replica, reduced inside the site before the WAN', () => {
  const p = planSpan(twoSites({ gpusPerReplica: 24 }));
  assert.deepEqual(p.sites.map((s) => [s.replicas, s.idle_gpus]), [[2, 16], [2, 16]]);
  assert.ok(p.intra_site_sync_seconds > 0);
  assert.equal(p.sync_seconds, p.intra_site_sync_seconds + p.wan_sync_seconds);
  assert.equal(p.gpus_used, 96);
  assert.equal(p.wan_bytes_per_site_per_sync, 10e9, 'the WAN still carries one pseudo-gradient per site');
});

test('a site too small for one replica holds none and says why; if none can, the error names the sites', () => {
  const p = planSpan(twoSites({ sites: [{ id: 'a', gpu: h100, gpus: 64 }, { id: 'b', gpu: findGpu('a100'), gpus: 2 }, { id: 'c', gpu: h100, gpus: 16 }], links: [{ a: 'a', b: 'b', gbps: 1, latencyMs: 1 }, { a: 'a', b: 'c', gbps: 1, latencyMs: 1 }] }));
  assert.equal(p.sites[1]?.replicas, 0);
  assert.match(p.sites[1]?.excluded_reason ?? '', /cannot hold 160 GB of model states.*at least 3 GPUs/);
  assert.match(p.warnings.join('\n'), /site b holds no replica/);
  assert.deepEqual(p.wan_ring, ['a', 'c']);
  assert.throws(() => planSpan(twoSites({ sites: [{ id: 'a', gpu: h100, gpus: 2 }] , links: [] })), fieldIs('site'));
});

test('a single site needs no WAN: utilization 1 with proportional batches', () => {
  const p = planSpan(twoSites({ sites: [{ id: 'a', gpu: h100, gpus: 64 }], links: [] }));
  assert.equal(p.verdict, 'single-site');
  assert.equal(p.compute_utilization, 1);
  assert.equal(p.wan_bytes_total_per_sync, 0);
  assert.ok(Math.abs(p.speedup_over_best_site - 1) < 1e-12);
});

test('the work: a text preset counts FLOPs as plan compare does, a video preset as plan train does', () => {
  const llama = findTextModel('llama-3-70b');
  const work = textSpanWork(llama, 8192);
  const read = planText(llama, h100, 8192 * 4, 'en');
  assert.equal(read.text_tokens, 8192);
  assert.ok(Math.abs(work.flopsPerToken - (3 * read.flops_write) / 8192) < 1e-6 * work.flopsPerToken, 'training = 3 × writing the sequence once, per token');
  assert.deepEqual(work.length, { tokens: 20 * llama.params });

  const wan = findVideoModel('wan2.1-t2v-14b');
  const mix = [{ width: 1280, height: 720, frames: 81, clips: 1e6 }, { width: 832, height: 480, seconds: 5, clips: 4e6 }];
  const video = videoSpanWork(wan, mix, 16, 2);
  const train = planTrain({ model: wan, gpu: h100, gpus: 1024, fps: 16, mix, epochs: 2 });
  const tokens = 'tokens' in video.length ? video.length.tokens : 0;
  assert.ok(Math.abs(video.flopsPerToken * tokens - train.flops_total) < 1e-9 * train.flops_total);
  assert.equal(video.sequenceTokens, train.max_sequence_tokens);
});

test('bad input names its field', () => {
  assert.throws(() => planSpan(twoSites({ links: [{ a: 'a', b: 'x', gbps: 10, latencyMs: 30 }] })), (e: Error & { field?: string }) => e.field === 'wan' && /unknown site "x"/.test(e.message));
  assert.throws(() => planSpan(twoSites({ links: [{ a: 'a', b: 'b', gbps: -5, latencyMs: 30 }] })), (e: Error & { field?: string }) => e.field === 'wan' && /bandwidth must be above zero/.test(e.message));
  assert.throws(() => planSpan(twoSites({ links: [{ a: 'a', b: 'b', gbps: 5, latencyMs: -1 }] })), fieldIs('wan'));
  assert.throws(() => planSpan(twoSites({ links: [{ a: 'a', b: 'a', gbps: 5, latencyMs: 1 }] })), fieldIs('wan'));
  assert.throws(() => planSpan(twoSites({ sites: [{ id: 'a', gpu: h100, gpus: 8 }, { id: 'a', gpu: h100, gpus: 8 }] })), fieldIs('site'));
  assert.throws(() => planSpan(twoSites({ sites: [{ id: 'a', gpu: h100, gpus: 0 }] })), fieldIs('site'));
  assert.throws(() => planSpan(twoSites({ innerSteps: 0 })), fieldIs('inner-steps'));
  assert.throws(() => planSpan(twoSites({ bytesPerParam: -1 })), fieldIs('bytes-per-param'));
  assert.throws(() => planSpan(twoSites({ batchTokensPerReplica: 0 })), fieldIs('batch-tokens'));
  assert.throws(() => planSpan(twoSites({ overlap: { fragments: 0 } })), fieldIs('fragments'));
  assert.throws(() => planSpan(twoSites({ mfu: 2 })), fieldIs('mfu'));
  assert.throws(() => paramsSpanWork(10e9, 8192, { tokens: -1 }), fieldIs('tokens'));
});
