import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { InvalidInputError } from '../model/errors.ts';
import {
  GPU_CATALOG, PUBLISHED_FIGURES, STRAGGLER_POLICIES, TEXT_MODELS, compareFigure, VIDEO_MODELS, customVideoModel, findGpu, findTextModel, findVideoModel, paramsPerToken,
  paramsSpanWork, parseTopologyFile, planCompare, TOPOLOGY_FILE_FORMAT, planSpan, planSweep, planTrain, planVideo, spanCurve, textSpanWork, topologyFromFlags, videoSpanWork, withEfficiency,
  type Comparison, type GpuSpec, type SpanLength, type SpanPlan, type SpanRequest, type SpanSite, type SpanWork, type Sweep, type SweepPoint, type TrainPlan,
  type VideoModelOverrides, type VideoModelSpec, type VideoPlan, type VideoRequest, type WanLink,
} from '../plan/index.ts';
import * as fmt from './format.ts';
import * as parse from './parse.ts';

/** Options every plan command reads as strings and parses itself, so errors name the flag. */
type Opts = Record<string, string | boolean | undefined>;

/** Where a command's output goes; tests pass their own. */
export interface Output {
  out(text: string): void;
}

const str = (o: Opts, key: string): string | undefined => (typeof o[key] === 'string' ? o[key] : undefined);

function architectureOptions(cmd: Command): Command {
  return cmd
    .option('--params <n>', 'custom model: total parameters (e.g. 14e9 or 14B)')
    .option('--hidden <n>', 'custom model: hidden size')
    .option('--layers <n>', 'custom model: transformer blocks')
    .option('--heads <n>', 'custom model: attention heads')
    .option('--ffn <n>', 'custom model: FFN inner width (default 4 × hidden)')
    .option('--ffn-gated', 'custom model: SwiGLU FFN (three matrices)')
    .addOption(new Option('--text-mode <mode>', 'custom model: text by joint attention (MM-DiT) or cross-attention').choices(['joint', 'cross']))
    .option('--text-tokens <n>', 'custom model: text tokens')
    .option('--vae-stride <TxHxW>', 'custom model: VAE compression, e.g. 4x8x8')
    .option('--vae-channels <n>', 'custom model: latent channels')
    .option('--causal-vae', 'custom model: the VAE keeps the first frame alone (frames = stride·k + 1)')
    .option('--no-causal-vae', 'custom model: frames must be a multiple of the temporal stride')
    .option('--patch <TxHxW>', 'custom model: DiT patch size, e.g. 1x2x2')
    .option('--passes-per-step <n>', 'custom model: forward passes per step (2 with CFG, 1 guidance-distilled)');
}

/** The preset named by --model (or "custom"), with any architecture flags applied. */
function videoModelFrom(o: Opts): VideoModelSpec {
  const id = str(o, 'model') ?? 'wan2.1-t2v-14b';
  const base = id === 'custom' ? undefined : findVideoModel(id);
  const overrides: { -readonly [K in keyof VideoModelOverrides]: VideoModelOverrides[K] } = {};
  const p = str(o, 'params');
  if (p !== undefined) overrides.params = parse.quantity('params', p);
  for (const [key, flagName] of [['hidden', 'hidden'], ['layers', 'layers'], ['heads', 'heads'], ['ffn', 'ffn'], ['textTokens', 'text-tokens'], ['vaeChannels', 'vae-channels'], ['passesPerStep', 'passes-per-step']] as const) {
    const v = str(o, key);
    if (v !== undefined) overrides[key] = parse.integer(flagName, v);
  }
  if (o.ffnGated === true) overrides.ffnGated = true;
  const textMode = str(o, 'textMode');
  if (textMode !== undefined) overrides.text = parse.oneOf('text-mode', textMode, ['joint', 'cross'] as const);
  const vs = str(o, 'vaeStride');
  if (vs !== undefined) overrides.vaeStride = parse.triple('vae-stride', vs);
  const patch = str(o, 'patch');
  if (patch !== undefined) overrides.patch = parse.triple('patch', patch);
  if (typeof o.causalVae === 'boolean') overrides.causalVae = o.causalVae;
  return Object.keys(overrides).length > 0 || !base ? customVideoModel(base, overrides) : base;
}

function gpuFrom(o: Opts): GpuSpec {
  const eff = str(o, 'efficiency');
  return withEfficiency(findGpu(str(o, 'gpu') ?? 'h100'), eff === undefined ? undefined : parse.number('efficiency', eff));
}

function priceFrom(o: Opts): { pricePerGpuHour?: number } {
  const p = str(o, 'pricePerGpuHour');
  return p === undefined ? {} : { pricePerGpuHour: parse.number('price-per-gpu-hour', p) };
}

/** The video request the flags describe; list-valued flags are left to the sweep. */
function videoRequestFrom(o: Opts, model: VideoModelSpec): VideoRequest {
  const sizeText = str(o, 'size');
  const { width, height } = sizeText === undefined ? model.native : parse.size('size', sizeText);
  const framesText = str(o, 'frames');
  const secondsText = str(o, 'seconds');
  if (framesText !== undefined && secondsText !== undefined) throw new InvalidInputError('frames', 'give --frames or --seconds, not both', '--frames N or --seconds S');
  const fpsText = str(o, 'fps');
  const stepsText = str(o, 'steps');
  const gpusText = str(o, 'gpus');
  const base = {
    model, gpu: gpuFrom(o), width, height,
    fps: fpsText === undefined ? model.defaultFps : parse.number('fps', fpsText),
    steps: stepsText === undefined ? model.defaultSteps : parse.integer('steps', stepsText),
    gpus: gpusText === undefined ? 1 : parse.integer('gpus', gpusText),
    ...priceFrom(o),
  };
  if (secondsText !== undefined) return { ...base, seconds: parse.number('seconds', secondsText) };
  return { ...base, frames: framesText === undefined ? model.native.frames : parse.integer('frames', framesText) };
}

function commonVideoOptions(cmd: Command, defaults: { gpus: string }): Command {
  return cmd
    .option('--model <id>', `video model preset, or "custom" with the architecture flags (${VIDEO_MODELS.map((m) => m.id).join(', ')})`)
    .option('--size <WxH>', "frame size in pixels (default: the model's native size)")
    .option('--frames <n>', 'frame count (must suit the VAE: 4k+1 for a causal 4× VAE)')
    .option('--seconds <s>', 'duration; rounded to the nearest frame count the VAE takes')
    .option('--fps <n>', "frames per second (default: the model's)")
    .option('--steps <n>', "sampling steps (default: the model's)")
    .option('--gpu <id>', `GPU type (${GPU_CATALOG.map((g) => g.id).join(', ')})`, 'h100')
    .option('--gpus <n>', 'GPUs sharing one video by sequence parallelism', defaults.gpus)
    .option('--efficiency <e>', "achieved fraction of peak FLOP/s (default: the GPU's catalog value)")
    .option('--price-per-gpu-hour <x>', 'price of one GPU-hour, for the cost line')
    .option('--json', 'print the result as JSON (stable schema, snake_case, units in names)');
}

export function renderVideoPlan(p: VideoPlan): string {
  const head = `${p.model_name} · ${p.width}×${p.height} · ${fmt.count(p.frames)} frames (${p.seconds.toPrecision(3)} s at ${p.fps} fps) · ${p.steps} steps × ${p.passes_per_step} pass${p.passes_per_step > 1 ? 'es' : ''} · ${p.gpus} × ${p.gpu_name}`;
  return fmt.sections(head, [
    ['tokens', [
      ['latent frames', fmt.count(p.latent_frames)],
      ['tokens per latent frame', fmt.count(p.tokens_per_latent_frame)],
      ['video tokens', fmt.count(p.video_tokens)],
      ['text tokens', fmt.count(p.text_tokens)],
      ['attention sequence', `${fmt.count(p.sequence_tokens)} tokens${p.attention === 'window' ? `, window ${p.window_seconds ?? 0} s` : ', full 3D attention'}`],
    ]],
    ['compute', [
      ['parameters (per token)', `${fmt.params(p.params)} (${fmt.params(p.params_per_token)})`],
      ['FLOPs per step, linear', fmt.flops(p.flops_per_step_linear)],
      ['FLOPs per step, attention', fmt.flops(p.flops_per_step_attention)],
      ['attention share', fmt.percent(p.attention_share)],
      ['FLOPs, all steps', fmt.flops(p.flops_dit)],
      ['FLOPs, VAE decode', fmt.flops(p.flops_vae_decode)],
      ['FLOPs, total', fmt.flops(p.flops_total)],
    ]],
    ['memory', [
      ['weights', fmt.bytes(p.weights_bytes)],
      ['activations, flash attention', fmt.bytes(p.activation_bytes_flash)],
      ['activations, no flash attention', fmt.bytes(p.activation_bytes_no_flash)],
      [`per GPU on ${p.gpus}`, `${fmt.bytes(p.memory_bytes_per_gpu)} of ${fmt.bytes(p.gpu_memory_bytes)}${p.fits ? '' : ' — does not fit'}`],
      [`per GPU on ${p.gpus}, no flash`, `${fmt.bytes(p.memory_bytes_per_gpu_no_flash)}${p.fits_no_flash ? '' : ' — does not fit'}`],
      ['fewest GPUs it fits on', `${fmt.count(p.min_gpus)}${p.min_gpus_shards_weights ? ' (weights sharded)' : ''}; ${fmt.count(p.min_gpus_no_flash)} without flash attention`],
    ]],
    [`time on ${p.gpus} × ${p.gpu}`, [
      ['efficiency', fmt.percent(p.efficiency)],
      ['compute', fmt.duration(p.compute_seconds)],
      ['communication', fmt.duration(p.communication_seconds)],
      ['VAE decode', fmt.duration(p.vae_decode_seconds)],
      ['wall time', fmt.duration(p.wall_seconds)],
      ['lower bound (100% of peak)', fmt.duration(p.compute_lower_bound_seconds)],
      ['GPU time', `${fmt.count(p.gpu_seconds)} GPU-s (${fmt.hours(p.gpu_hours)})`],
      ['energy', `${p.energy_kwh.toPrecision(3)} kWh`],
      ['cost', fmt.money(p.cost)],
    ]],
  ]) + `\n\nassumptions\n${p.assumptions.map((a) => `  - ${a}`).join('\n')}`;
}

export function renderTrainPlan(p: TrainPlan): string {
  const mixRows = fmt.columns([
    ['bucket', 'frames', 'seconds', 'clips', 'tokens', 'FLOPs/sample', 'share'],
    ...p.buckets.map((b) => [`${b.width}×${b.height}`, fmt.count(b.frames), b.seconds.toPrecision(3), fmt.si(b.clips, ''), fmt.count(b.sequence_tokens), b.flops_per_sample.toExponential(2), fmt.percent(b.flops_share)]),
  ]);
  return `${p.model} training · ${fmt.si(p.samples_total, '')} samples (${p.epochs} epoch${p.epochs === 1 ? '' : 's'}) · ${p.gpus} × ${p.gpu} at ${fmt.percent(p.mfu)} MFU\n\n${mixRows}\n\n` + fmt.sections('', [
    ['compute', [
      ['FLOPs, total', fmt.flops(p.flops_total)],
      ['GPU time', fmt.hours(p.gpu_hours)],
      [`calendar time on ${p.gpus} GPUs`, `${p.wall_days.toPrecision(3)} days`],
      ['energy', `${fmt.count(p.energy_kwh)} kWh`],
      ['cost', fmt.money(p.cost)],
    ]],
    ['layout and memory per GPU', [
      ['fits', p.fits ? 'yes' : `no — ${p.no_fit_reason ?? ''}`],
      ['parallelism', `tensor ${p.tensor_parallel} × context ${p.context_parallel} × data ${p.data_parallel} (ZeRO-3)`],
      ['longest sample', `${fmt.count(p.max_sequence_tokens)} tokens`],
      ['model states', fmt.bytes(p.memory_model_states_bytes_per_gpu)],
      ['activations', fmt.bytes(p.memory_activations_bytes_per_gpu)],
      ['total', `${fmt.bytes(p.memory_bytes_per_gpu)} of ${fmt.bytes(p.gpu_memory_bytes)}`],
    ]],
  ]).trimStart() + `\n\nassumptions\n${p.assumptions.map((a) => `  - ${a}`).join('\n')}`;
}

export function renderComparison(c: Comparison): string {
  const t = c.text;
  const v = c.video;
  const ratio = (x: number) => `${x >= 10 ? fmt.count(x) : x.toPrecision(3)}×`;
  return [
    `${fmt.count(t.characters)} ${t.language === 'zh' ? 'Chinese' : 'English'} characters through ${t.model_name}  vs  ${v.width}×${v.height}, ${v.seconds.toPrecision(3)} s video through ${v.model_name}, on ${v.gpu_name}`,
    '',
    fmt.columns([
      ['', 'text', 'video', 'video ÷ text'],
      ['parameters', fmt.params(t.params), fmt.params(v.params), ratio(c.video_over_text_params)],
      ['tokens', fmt.count(t.text_tokens), fmt.count(v.video_tokens), ratio(c.video_over_text_tokens)],
      ['FLOPs (text: write it)', t.flops_write.toExponential(2), v.flops_total.toExponential(2), ratio(c.video_over_text_flops)],
      ['FLOPs (text: read it)', t.flops_read.toExponential(2), '', ''],
      ['memory', fmt.bytes(t.memory_bytes), fmt.bytes(v.memory_bytes_per_gpu), ''],
      ['GPUs to hold it', fmt.count(t.min_gpus), fmt.count(v.min_gpus), ''],
      ['GPU-seconds (text: write, batched)', fmt.count(t.gpu_seconds_write), fmt.count(v.gpu_seconds), ratio(c.video_over_text_gpu_seconds)],
      ['GPU-seconds (text: write, alone)', fmt.count(t.gpu_seconds_write_alone), '', ''],
      ['GPU-seconds (text: read)', fmt.count(t.gpu_seconds_read), '', ''],
    ]),
    '',
    `text: ${t.tokens_per_character} tokens per character (${t.model} tokenizer); 'batched' is a share of a busy server (compute-bound); 'alone' is one request at batch 1 (bound by memory bandwidth)`,
    `video: ${fmt.count(v.frames)} frames at ${v.fps} fps, ${v.steps} steps × ${v.passes_per_step} passes, full 3D attention (${fmt.percent(v.attention_share)} of the DiT's FLOPs)`,
  ].join('\n');
}

export function renderSweep(s: Sweep): string {
  return [
    `${s.model} on ${s.plans[0]?.full.gpus ?? 1} × ${s.gpu}: full 3D attention vs a ${s.window_seconds} s attention window, by ${s.axis}`,
    '',
    fmt.columns([
      [s.axis, 'frames', 'tokens', 'attn share', 'wall (full)', 'GPU-h (full)', 'wall (window)', 'GPU-h (window)', 'full ÷ window', 'GPUs to fit (full, no flash)'],
      ...s.rows.map((r) => [r.value, fmt.count(r.frames), fmt.count(r.sequence_tokens), fmt.percent(r.attention_share_full), fmt.duration(r.wall_seconds_full), r.gpu_hours_full.toPrecision(3), fmt.duration(r.wall_seconds_window), r.gpu_hours_window.toPrecision(3), `${r.full_over_window.toPrecision(3)}×`, `${fmt.count(r.min_gpus_full)}, ${fmt.count(r.min_gpus_no_flash_full)}`]),
    ]),
  ].join('\n');
}

export function renderSpanPlan(p: SpanPlan): string {
  const overlap = p.overlap === null ? 'no overlap' : `overlapped over ${p.overlap.hidden_steps} inner steps${p.overlap.fragments > 1 ? ` in ${p.overlap.fragments} fragments` : ''}`;
  const method = p.inner_steps_per_sync === 1 ? 'synchronous data parallelism (H = 1)' : `DiLoCo H = ${p.inner_steps_per_sync}`;
  const head = `${p.model_name} across ${fmt.plural(p.sites_used, 'site')} · ${fmt.plural(p.replicas, 'replica')} on ${fmt.count(p.gpus_used)} GPUs · ${method}, ${p.bytes_per_param} byte${p.bytes_per_param === 1 ? '' : 's'}/parameter, ${overlap} · stragglers: ${p.stragglers === 'proportional' ? 'batches proportional to speed' : 'equal batches, wait for the slowest'}`;
  const siteRows = fmt.columns([
    ['site', 'gpu', 'GPUs', 'replicas × GPUs', 'idle', 'MFU', 'tokens/replica/step', 'inner step', 'busy'],
    ...p.sites.map((s) => [s.id, s.gpu, fmt.count(s.gpus), s.replicas > 0 ? `${fmt.count(s.replicas)} × ${fmt.count(s.gpus_per_replica)}` : 'none', fmt.count(s.idle_gpus), fmt.percent(s.mfu), s.replicas > 0 ? fmt.si(s.batch_tokens_per_replica, '') : '—', s.replicas > 0 ? fmt.duration(s.inner_step_seconds) : '—', fmt.percent(s.busy_share)]),
  ]);
  const ring = p.wan_ring.length > 1 ? `WAN ring: ${[...p.wan_ring, p.wan_ring[0] ?? ''].join(' → ')}; slowest step over ${p.wan_bottleneck_link ?? ''} (${p.wan_bottleneck_gbps ?? 0} Gb/s)` : 'one site: nothing crosses the WAN';
  const list = (title: string, items: readonly string[]) => (items.length === 0 ? '' : `\n\n${title}\n${items.map((x) => `  - ${x}`).join('\n')}`);
  return `${head}\n\n${siteRows}\n\n${ring}\n\n` + fmt.sections('', [
    [`per synchronization, every ${fmt.plural(p.inner_steps_per_sync, 'inner step')}`, [
      ['pseudo-gradient', `${fmt.bytes(p.pseudo_gradient_bytes)} (${fmt.params(p.params)} parameters × ${p.bytes_per_param} byte${p.bytes_per_param === 1 ? '' : 's'})`],
      ['sent by each site over the WAN', `${fmt.bytes(p.wan_bytes_per_site_per_sync)} (${fmt.bytes(p.wan_bytes_total_per_sync)} in all)`],
      ['all-reduce inside sites', fmt.duration(p.intra_site_sync_seconds)],
      ['ring all-reduce across the WAN', fmt.duration(p.wan_sync_seconds)],
    ]],
    ['per outer step', [
      ['compute', fmt.duration(p.compute_seconds_per_outer_step)],
      ['  of which waiting for stragglers', fmt.duration(p.straggler_wait_seconds_per_outer_step)],
      ['communication (exposed)', `${fmt.duration(p.sync_seconds)} (${fmt.duration(p.exposed_sync_seconds_per_outer_step)})`],
      ['outer step', fmt.duration(p.outer_step_seconds)],
      ['compute utilization', fmt.percent(p.compute_utilization)],
      ['average WAN use per site', `${p.wan_average_gbps_per_site.toPrecision(3)} Gb/s`],
    ]],
    ['whole job', [
      ['tokens', `${fmt.si(p.tokens_total, '')} (${fmt.si(p.batch_tokens_per_step, '')} per inner step)`],
      ['inner steps', `${fmt.count(p.inner_steps_total)} (${fmt.count(p.outer_steps_total)} synchronizations)`],
      ['effective throughput', `${fmt.si(p.throughput_tokens_per_second, '')} tokens/s, ${fmt.si(p.throughput_flops_per_second, 'FLOP/s')}`],
      ['time to finish', fmt.duration(p.wall_seconds)],
      ['GPU time', fmt.hours(p.gpu_hours)],
      [`${p.best_single_site} alone, synchronous`, `${fmt.duration(p.best_single_site_wall_seconds)} (spanning is ${p.speedup_over_best_site >= 1 ? `${p.speedup_over_best_site.toPrecision(3)}× faster` : `${(1 / p.speedup_over_best_site).toPrecision(3)}× slower`})`],
    ]],
  ]).trimStart() + `\n\nverdict\n  ${p.verdict_reason}` + list('convergence assumptions', p.convergence_assumptions) + list('assumptions', p.assumptions) + list('warnings', p.warnings);
}

/** Values of a repeatable flag (commander collects them into an array). */
function repeated(o: Opts, key: string): string[] {
  const v: unknown = (o as Record<string, unknown>)[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Sites and links from --topology FILE, or from --site and --wan; never both. */
async function spanTopologyFrom(o: Opts): Promise<{ sites: SpanSite[]; links: WanLink[] }> {
  const file = str(o, 'topology');
  const siteFlags = repeated(o, 'site');
  const wanFlags = repeated(o, 'wan');
  if (file === undefined) {
    if (siteFlags.length === 0) throw new InvalidInputError('site', 'no sites given', 'one or more --site ID:GPU:COUNT (with --wan links between them), or --topology FILE');
    return topologyFromFlags(siteFlags, wanFlags, repeated(o, 'stepTime'));
  }
  if (siteFlags.length > 0 || wanFlags.length > 0 || repeated(o, 'stepTime').length > 0) throw new InvalidInputError('topology', 'give --topology or --site/--wan/--step-time, not both', '--topology FILE, or --site … --wan …');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new InvalidInputError('topology', `cannot read "${file}": ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'a readable JSON file');
  }
  return parseTopologyFile(file, text);
}

/** The training work: a text preset, a video preset with its --mix, or --params alone. */
function spanWorkFrom(o: Opts): SpanWork {
  const id = (str(o, 'model') ?? (str(o, 'params') !== undefined ? 'custom' : 'intellect-1-10b')).toLowerCase();
  const tokens = str(o, 'tokens');
  const steps = str(o, 'steps');
  if (tokens !== undefined && steps !== undefined) throw new InvalidInputError('tokens', 'give --tokens or --steps, not both', '--tokens N or --steps N');
  const length: SpanLength | undefined = tokens !== undefined ? { tokens: parse.quantity('tokens', tokens) } : steps !== undefined ? { steps: parse.integer('steps', steps) } : undefined;
  const mix = str(o, 'mix');
  const video = VIDEO_MODELS.find((m) => m.id === id);
  if (video) {
    if (length !== undefined) throw new InvalidInputError(tokens !== undefined ? 'tokens' : 'steps', `${video.id} is a video model: its job is its --mix`, '--mix with --epochs');
    if (mix === undefined) throw new InvalidInputError('mix', `${video.id} is a video model: give its dataset --mix`, 'WxH:DURATION:CLIPS buckets, e.g. 1280x720:5s:10M,832x480:5s:50M');
    const fps = str(o, 'fps');
    return videoSpanWork(video, parse.mix('mix', mix), fps === undefined ? video.defaultFps : parse.number('fps', fps), parse.number('epochs', str(o, 'epochs') ?? ''));
  }
  if (mix !== undefined) throw new InvalidInputError('mix', `only video models train on a mix; ${id} is not one`, VIDEO_MODELS.map((m) => m.id).join(', '));
  const seqLen = parse.integer('seq-len', str(o, 'seqLen') ?? '');
  const params = str(o, 'params');
  if (id === 'custom') {
    if (params === undefined) throw new InvalidInputError('params', 'a custom model needs --params', 'a parameter count, e.g. 10e9 or 10B');
    return paramsSpanWork(parse.quantity('params', params), seqLen, length);
  }
  if (params !== undefined) throw new InvalidInputError('params', `--params sizes a custom model, not the preset ${id}`, '--model custom --params N, or a preset without --params');
  const text = TEXT_MODELS.find((m) => m.id === id);
  if (!text) throw new InvalidInputError('model', `unknown model "${id}"`, [...TEXT_MODELS.map((m) => m.id), ...VIDEO_MODELS.map((m) => m.id), 'custom'].join(', '));
  return textSpanWork(text, seqLen, length);
}

async function spanRequestFrom(o: Opts): Promise<SpanRequest> {
  const work = spanWorkFrom(o);
  const { sites, links } = await spanTopologyFrom(o);
  const fragments = str(o, 'fragments');
  const window = str(o, 'overlapSteps');
  const overlapped = o.overlap === true || fragments !== undefined || window !== undefined;
  const gpusPerReplica = str(o, 'gpusPerReplica');
  const mfu = str(o, 'mfu');
  return {
    work, sites, links,
    innerSteps: parse.integer('inner-steps', str(o, 'innerSteps') ?? ''),
    bytesPerParam: parse.number('bytes-per-param', str(o, 'bytesPerParam') ?? ''),
    stragglers: parse.oneOf('stragglers', str(o, 'stragglers') ?? '', STRAGGLER_POLICIES),
    batchTokensPerReplica: parse.quantity('batch-tokens', str(o, 'batchTokens') ?? ''),
    ...(overlapped ? { overlap: { fragments: fragments === undefined ? 1 : parse.integer('fragments', fragments), ...(window === undefined ? {} : { windowSteps: parse.integer('overlap-steps', window) }) } } : {}),
    ...(gpusPerReplica === undefined ? {} : { gpusPerReplica: parse.integer('gpus-per-replica', gpusPerReplica) }),
    ...(mfu === undefined ? {} : { mfu: parse.number('mfu', mfu) }),
  };
}

/** The chart's H values: the usual DiLoCo range and the plan's own. */
const CHART_INNER_STEPS = [1, 10, 100, 500];
/** Every WAN link scaled from 1/100 to 100 times, a third of a decade apart. */
const CHART_BANDWIDTH_FACTORS = Array.from({ length: 13 }, (_, k) => 10 ** ((k - 6) / 3));

const SWEEPABLE = ['seconds', 'frames', 'size', 'steps', 'gpus'] as const;

/** Turns the one list-valued flag into sweep points; the other flags stay as given. */
function sweepPoints(o: Opts): { axis: string; points: SweepPoint[]; rest: Opts } {
  const listed = SWEEPABLE.filter((k) => str(o, k)?.includes(','));
  if (listed.length > 1) throw new InvalidInputError(listed[1] ?? 'seconds', `only one flag may hold a list, got lists for ${listed.map((k) => `--${k}`).join(' and ')}`, 'one of --seconds, --frames, --size, --steps, --gpus as a comma-separated list');
  const axis = listed[0] ?? (str(o, 'frames') !== undefined ? 'frames' : 'seconds');
  const text = str(o, axis) ?? '4,6,60,600,3600';
  const rest: Opts = { ...o, [axis]: undefined };
  const points: SweepPoint[] =
    axis === 'size'
      ? parse.list('size', text, parse.size).map((sz) => ({ label: `${sz.width}x${sz.height}`, value: sz.width * sz.height, change: sz }))
      : axis === 'seconds'
        ? parse.list('seconds', text, parse.number).map((v) => ({ label: String(v), value: v, change: { seconds: v } }))
        : parse.list(axis, text, parse.integer).map((v) => ({ label: String(v), value: v, change: { [axis]: v } }));
  return { axis, points, rest };
}

/** Vega is loaded only when a chart is asked for: it doubles the CLI's start-up time. */
const loadCharts = () => import('./chart.ts');

async function emit(o: Opts, io: Output, json: unknown, table: () => string): Promise<void> {
  io.out(o.json === true ? JSON.stringify(json, null, 2) : table());
  return Promise.resolve();
}

export function planCommand(io: Output): Command {
  const plan = new Command('plan').description('what a video or text workload needs: tokens, FLOPs, memory, GPUs, time, energy, cost');

  architectureOptions(commonVideoOptions(plan.command('video'), { gpus: '1' }))
    .description('sample one video: tokens, FLOPs split linear/attention, memory with and without flash attention, fewest GPUs, wall time on N GPUs')
    .option('--window <seconds>', 'attention window instead of full 3D attention (sliding-window / chunked generation)')
    .addHelpText('after', `
Examples:
  suanli plan video --model wan2.1-t2v-14b --size 1280x720 --seconds 5 --gpu h100 --gpus 8
  suanli plan video --model hunyuanvideo --size 1280x720 --frames 129 --gpu h20 --gpus 8 --price-per-gpu-hour 1.2
  suanli plan video --model custom --params 3e9 --hidden 2048 --layers 32 --heads 16 --size 640x480 --seconds 60 --json`)
    .action(async (o: Opts) => {
      const model = videoModelFrom(o);
      const req = videoRequestFrom(o, model);
      const w = str(o, 'window');
      const p = planVideo(w === undefined ? req : { ...req, attention: { kind: 'window', seconds: parse.number('window', w) } });
      await emit(o, io, p, () => renderVideoPlan(p));
    });

  architectureOptions(plan.command('train'))
    .description('train on a dataset mix: FLOPs, GPU-hours, calendar days, memory per GPU and the parallel layout it implies')
    .option('--model <id>', 'video model preset or "custom"', 'wan2.1-t2v-14b')
    .requiredOption('--mix <buckets>', 'dataset mix: WxH:DURATION:CLIPS buckets separated by commas (DURATION 5s or 81f; CLIPS 2e6, 500k, 2M)')
    .option('--epochs <n>', 'passes over the mix', '1')
    .option('--fps <n>', "frames per second for durations given in seconds (default: the model's)")
    .option('--gpu <id>', 'GPU type', 'h100')
    .option('--gpus <n>', 'GPUs training together', '1024')
    .option('--mfu <f>', "model FLOPs utilization (default: the GPU's catalog efficiency)")
    .option('--price-per-gpu-hour <x>', 'price of one GPU-hour, for the cost line')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Examples:
  suanli plan train --model wan2.1-t2v-14b --mix 1280x720:5s:10M,832x480:5s:50M --epochs 2 --gpu h800 --gpus 2048 --mfu 0.35
  suanli plan train --model opensora-2.0 --mix 256x256:129f:70M --gpu h200 --gpus 224 --json`)
    .action(async (o: Opts) => {
      const model = videoModelFrom(o);
      const fps = str(o, 'fps');
      const mfu = str(o, 'mfu');
      const p = planTrain({
        model, gpu: findGpu(str(o, 'gpu') ?? 'h100'), gpus: parse.integer('gpus', str(o, 'gpus') ?? ''),
        fps: fps === undefined ? model.defaultFps : parse.number('fps', fps),
        mix: parse.mix('mix', str(o, 'mix') ?? ''), epochs: parse.number('epochs', str(o, 'epochs') ?? ''),
        ...(mfu === undefined ? {} : { mfu: parse.number('mfu', mfu) }), ...priceFrom(o),
      });
      await emit(o, io, p, () => renderTrainPlan(p));
    });

  plan.command('compare')
    .description('a text of N characters through a text model next to a W×H video of D seconds through a video model')
    .option('--chars <n>', 'characters of text', '100000')
    .addOption(new Option('--language <lang>', 'language of the text').choices(['zh', 'en']).default('zh'))
    .option('--text-model <id>', `text model (${TEXT_MODELS.map((m) => m.id).join(', ')})`, 'qwen2.5-72b')
    .option('--video-model <id>', 'video model preset', 'wan2.1-t2v-1.3b')
    .option('--size <WxH>', 'video frame size', '640x480')
    .option('--seconds <s>', 'video duration', '5')
    .option('--fps <n>', "frames per second (default: the video model's)")
    .option('--steps <n>', "sampling steps (default: the video model's)")
    .option('--gpu <id>', 'GPU type for both', 'h100')
    .option('--efficiency <e>', "achieved fraction of peak FLOP/s (default: the GPU's catalog value)")
    .option('--chart <file.svg>', 'also write a bar chart to this SVG file')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Examples:
  suanli plan compare
  suanli plan compare --chars 100000 --text-model llama-3-70b --video-model wan2.1-t2v-14b --size 1280x720 --seconds 10
  suanli plan compare --chars 400000 --language en --json`)
    .action(async (o: Opts) => {
      const videoModel = findVideoModel(str(o, 'videoModel') ?? '');
      const { width, height } = parse.size('size', str(o, 'size') ?? '');
      const fps = str(o, 'fps');
      const steps = str(o, 'steps');
      const c = planCompare({
        textModel: findTextModel(str(o, 'textModel') ?? ''), characters: parse.integer('chars', str(o, 'chars') ?? ''),
        language: parse.oneOf('language', str(o, 'language') ?? '', ['zh', 'en'] as const), videoModel, width, height,
        seconds: parse.number('seconds', str(o, 'seconds') ?? ''),
        fps: fps === undefined ? videoModel.defaultFps : parse.number('fps', fps),
        steps: steps === undefined ? videoModel.defaultSteps : parse.integer('steps', steps),
        gpu: gpuFrom(o),
      });
      const chart = str(o, 'chart');
      if (chart !== undefined) {
        const { sideBySideBars, writeSvgChart } = await loadCharts();
        const text = `text: ${c.text.model}`;
        const video = `video: ${c.video.model}`;
        await writeSvgChart(chart, sideBySideBars({
          title: `${fmt.count(c.text.characters)} characters vs ${c.video.width}×${c.video.height}, ${c.video.seconds.toPrecision(2)} s`,
          bars: [
            { measure: 'parameters', subject: text, value: c.text.params }, { measure: 'parameters', subject: video, value: c.video.params },
            { measure: 'tokens', subject: text, value: c.text.text_tokens }, { measure: 'tokens', subject: video, value: c.video.video_tokens },
            { measure: 'FLOPs', subject: text, value: c.text.flops_write }, { measure: 'FLOPs', subject: video, value: c.video.flops_total },
            { measure: 'GPU-seconds', subject: text, value: c.text.gpu_seconds_write }, { measure: 'GPU-seconds', subject: video, value: c.video.gpu_seconds },
          ],
        }));
      }
      await emit(o, io, c, () => renderComparison(c) + (chart === undefined ? '' : `\n\nchart written to ${chart}`));
    });

  commonVideoOptions(plan.command('sweep'), { gpus: '8' })
    .description('how cost grows along one flag given as a list (default --seconds 4,6,60,600,3600): full 3D attention vs an attention window')
    .option('--window <seconds>', 'attention window for the windowed series', '5')
    .option('--chart <file.svg>', 'where to write the chart', 'suanli-sweep.svg')
    .option('--no-chart', 'write no chart')
    .addHelpText('after', `
Examples:
  suanli plan sweep --model wan2.1-t2v-14b --size 1280x720 --seconds 4,6,60,600,3600 --gpus 8
  suanli plan sweep --model hunyuanvideo --size 640x480,960x544,1280x720 --frames 129 --chart sizes.svg
  suanli plan sweep --gpus 1,2,4,8,16,32 --seconds 60 --gpu h20 --json`)
    .action(async (o: Opts) => {
      const model = videoModelFrom(o);
      const { axis, points, rest } = sweepPoints(o);
      const base = videoRequestFrom({ ...rest, ...(axis === 'seconds' ? { seconds: '1' } : {}) }, model);
      const s = planSweep(base, axis, points, parse.number('window', str(o, 'window') ?? ''));
      const chart = typeof o.chart === 'string' ? o.chart : undefined;
      if (chart !== undefined) {
        const { logLogLines, writeSvgChart } = await loadCharts();
        const xs = points.map((p) => p.value);
        await writeSvgChart(chart, logLogLines({
          title: `${s.model}: GPU-hours per video on ${base.gpus} × ${s.gpu}`,
          x: axis === 'size' ? 'pixels per frame' : axis,
          y: 'GPU-hours',
          points: s.rows.flatMap((r, i) => [
            { x: xs[i] ?? 0, y: r.gpu_hours_full, series: 'full 3D attention (quadratic)' },
            { x: xs[i] ?? 0, y: r.gpu_hours_window, series: `${s.window_seconds} s attention window` },
          ]),
        }));
      }
      await emit(o, io, { ...s, plans: undefined }, () => renderSweep(s) + (chart === undefined ? '' : `\n\nchart written to ${chart}`));
    });

  plan.command('span')
    .description('one training job across several sites: replicas per site, bytes per synchronization, each outer step split into compute and communication, utilization, time to finish (DiLoCo across the WAN, fast parallelism inside each site)')
    .option('--model <id>', `text or video model preset, or "custom" with --params (text: ${TEXT_MODELS.map((m) => m.id).join(', ')}; default intellect-1-10b)`)
    .option('--params <n>', 'custom model: parameters (e.g. 10e9 or 10B), counted at 6 FLOPs per parameter per token')
    .option('--seq-len <n>', 'tokens per training sequence (text and custom models)', '8192')
    .option('--tokens <n>', 'tokens to train on (default: 20 per parameter, compute-optimal)')
    .option('--steps <n>', 'or: inner steps to run')
    .option('--mix <buckets>', 'video models: the dataset mix, as in plan train (WxH:DURATION:CLIPS,…)')
    .option('--epochs <n>', 'video models: passes over the mix', '1')
    .option('--fps <n>', "video models: frames per second for durations in seconds (default: the model's)")
    .option('--site <ID:GPU:COUNT[:GBPS]>', 'a candidate site (repeat the flag): id, GPU type, GPU count, and optionally its network in Gb/s per GPU', parse.collect)
    .option('--wan <A-B:GBPS:MS>', 'a WAN link between two sites (repeat): achieved Gb/s per direction, one-way latency in ms', parse.collect)
    .option('--step-time <ID=SECONDS>', 'a measured inner step: seconds of one inner step of one replica at that site at --batch-tokens (repeat per site); it stands for the GPU catalog, so a site of hardware outside it is --site ID:measured:COUNT', parse.collect)
    .option('--topology <file.json>', 'sites and WAN links from a JSON file instead of --site and --wan')
    .option('--inner-steps <H>', 'inner steps between synchronizations (1 = plain synchronous data parallelism)', '100')
    .option('--bytes-per-param <b>', 'bytes per parameter synchronized: 4 FP32, 2 BF16, 1 int8, 0.5 4-bit', '1')
    .option('--overlap', 'overlap each synchronization with the next inner steps (eager updates, Streaming DiLoCo)')
    .option('--fragments <P>', 'overlap in P fragments (Streaming DiLoCo); implies --overlap')
    .option('--overlap-steps <n>', 'inner steps each fragment may take before the replicas stall (default: a whole outer step); implies --overlap')
    .addOption(new Option('--stragglers <policy>', 'replicas of different speeds: batches proportional to speed, or equal batches and the fast wait').choices(STRAGGLER_POLICIES).default('proportional'))
    .option('--batch-tokens <n>', "tokens per replica per inner step (DiLoCo's per-worker batch; default INTELLECT-1's 128 × 8192)", '1048576')
    .option('--gpus-per-replica <n>', 'GPUs in one replica (default: each site is one replica)')
    .option('--mfu <f>', "achieved fraction of peak FLOP/s (default: each GPU's catalog efficiency)")
    .option('--chart <file.svg>', 'also write compute utilization against WAN bandwidth, one line per H')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Topology file (--topology):
  ${TOPOLOGY_FILE_FORMAT}

Examples:
  suanli plan span --site a:h100:1024 --site b:a100:512 --wan a-b:10:30 --batch-tokens 16M
  suanli plan span --model intellect-1-10b --site us:h100:64 --site eu:h100:64 --site asia:h800:32 --wan us-eu:2:40 --wan eu-asia:0.5:120 --wan us-asia:1:90 --chart span.svg
  suanli plan span --params 10B --inner-steps 1 --bytes-per-param 2 --site a:h100:1024 --site b:a100:512 --wan a-b:1:30   # plain data parallelism: hopeless
  suanli plan span --topology pool-wan.json --stragglers wait --overlap --json`)
    .action(async (o: Opts) => {
      const req = await spanRequestFrom(o);
      const p = planSpan(req);
      const chart = str(o, 'chart');
      if (chart !== undefined) {
        if (p.sites_used < 2) throw new InvalidInputError('chart', 'one site: nothing crosses the WAN to chart', 'two or more sites joined by --wan links');
        const { logLogLines, writeSvgChart } = await loadCharts();
        const hs = [...new Set([...CHART_INNER_STEPS, p.inner_steps_per_sync])].sort((x, y) => x - y);
        await writeSvgChart(chart, logLogLines({
          title: `${p.model}: compute utilization across ${fmt.plural(p.sites_used, 'site')}, ${p.bytes_per_param} byte(s)/parameter`,
          x: 'slowest WAN link, Gb/s',
          y: 'compute utilization',
          points: spanCurve(req, CHART_BANDWIDTH_FACTORS, hs).map((c) => ({ x: c.slowest_link_gbps, y: c.compute_utilization, series: c.inner_steps_per_sync === 1 ? 'H = 1 (synchronous data parallel)' : `H = ${c.inner_steps_per_sync}` })),
        }));
      }
      await emit(o, io, p, () => renderSpanPlan(p) + (chart === undefined ? '' : `\n\nchart written to ${chart}`));
    });

  plan.command('check')
    .description('the planner against published figures (token counts, measured generation times), with sources and tolerances')
    .option('--json', 'print as JSON')
    .action(async (o: Opts) => {
      const rows = PUBLISHED_FIGURES.map((f) => ({ id: f.id, model: f.model, what: f.what, conditions: f.conditions, unit: f.unit, published: f.published, ...compareFigure(f), tolerance: f.tolerance, checked: f.check, note: f.note ?? null, source: f.source }));
      const value = (u: string, x: number) => (u === 'tokens' || x >= 100 ? fmt.count(x) : x.toPrecision(3)) + (u === 'seconds' ? ' s' : '');
      await emit(o, io, rows, () => fmt.columns([
        ['model', 'figure', 'conditions', 'published', 'planner', 'ratio', 'verdict'],
        ...rows.map((r) => [r.model, r.what, r.conditions, value(r.unit, r.published), value(r.unit, r.planner), r.ratio.toFixed(2), r.checked ? (r.within ? `ok (±×${r.tolerance})` : `OUT (±×${r.tolerance})`) : 'not held: see note']),
      ]) + `\n\nnotes\n${rows.filter((r) => r.note !== null).map((r) => `  - ${r.id}: ${r.note ?? ''}`).join('\n')}\n\nsources\n${rows.map((r) => `  - ${r.id}: ${r.source}`).join('\n')}`);
    });

  plan.command('models')
    .description('list the video and text model presets with their sources')
    .option('--json', 'print as JSON')
    .action(async (o: Opts) => {
      const video = VIDEO_MODELS.map((m) => ({ id: m.id, name: m.name, params: m.params, params_per_token: paramsPerToken(m), hidden: m.hidden, layers: m.layers, heads: m.heads, text: m.text, native: `${m.native.width}x${m.native.height}x${m.native.frames}`, source: m.source }));
      const text = TEXT_MODELS.map((m) => ({ id: m.id, name: m.name, params: m.params, hidden: m.hidden, layers: m.layers, tokenizer: m.tokenizer, source: m.source }));
      await emit(o, io, { video, text }, () => [
        fmt.columns([['video model', 'params', 'per token', 'hidden', 'layers', 'text', 'native WxHxF'], ...video.map((m) => [m.id, fmt.params(m.params), fmt.params(m.params_per_token), String(m.hidden), String(m.layers), m.text, m.native])]),
        '',
        fmt.columns([['text model', 'params', 'hidden', 'layers', 'tokenizer'], ...text.map((m) => [m.id, fmt.params(m.params), String(m.hidden), String(m.layers), m.tokenizer])]),
        '',
        'sources: suanli plan models --json',
      ].join('\n'));
    });

  plan.command('gpus')
    .description('list the GPU catalog with its sources')
    .option('--json', 'print as JSON')
    .action(async (o: Opts) => {
      const gpus = GPU_CATALOG.map((g) => ({ id: g.id, name: g.name, peak_flops: g.peakFlops, memory_bytes: g.memoryBytes, memory_bandwidth_bytes_per_second: g.memoryBandwidthBytesPerSecond, scale_up_bytes_per_second: g.scaleUpBytesPerSecond, scale_out_bytes_per_second: g.scaleOutBytesPerSecond, power_watts: g.powerWatts, efficiency: g.efficiency, source: g.source }));
      await emit(o, io, gpus, () => fmt.columns([
        ['gpu', 'BF16 TFLOP/s', 'memory', 'mem BW', 'scale-up/dir', 'power', 'efficiency'],
        ...gpus.map((g) => [g.id, (g.peak_flops / 1e12).toFixed(0), fmt.bytes(g.memory_bytes), `${(g.memory_bandwidth_bytes_per_second / 1e12).toFixed(2)} TB/s`, `${(g.scale_up_bytes_per_second / 1e9).toFixed(0)} GB/s`, `${g.power_watts} W`, fmt.percent(g.efficiency)]),
      ]) + '\n\nsources: suanli plan gpus --json');
    });

  return plan;
}
