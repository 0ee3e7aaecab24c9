import { InvalidInputError } from '../model/errors.ts';
import { GPU_CATALOG, type GpuSpec } from './gpu-catalog.ts';
import { checkTopology, type SpanSite, type TopologySource, type WanLink } from './span.ts';

/**
 * Sites and WAN links as people write them: `--site` / `--wan` flag values, or a
 * topology file (JSON text; the caller reads it). Pure: text in, values out. Every
 * error names where the bad value is — the flag and its text, or file:line:column
 * and the field's path — so it can be fixed without guessing.
 */

export const SITE_FLAG_FORMAT = 'ID:GPU:COUNT[:GBPS] (GBPS: site network per GPU), e.g. a:h100:1024 or b:a100:512:200';
export const WAN_FLAG_FORMAT = 'A-B:GBPS:MS (achieved Gb/s per direction, one-way ms), e.g. a-b:10:30';
export const TOPOLOGY_FILE_FORMAT = '{"sites": [{"id": "a", "gpu": "h100", "gpus": 1024, "intra_site_gbps"?: 400, "mfu"?: 0.4, "inner_step_s"?: 0.05}], "wan": [{"between": ["a", "b"], "gbps": 10, "latency_ms": 30}]}';

export const STEP_FLAG_FORMAT = 'ID=SECONDS (one inner step of one replica at that site, measured at --batch-tokens), e.g. a=0.05';

/**
 * What a site whose inner-step time is measured (`--step-time`) may name as its GPU when it is outside the catalog
 * (these CPUs, say): its FLOPs and memory are not used, the measurement stands for them. Its network inside the
 * site, for more than one replica there, is the --site flag's GBPS, else 10 Gb/s.
 */
export const MEASURED_DEVICE: GpuSpec = {
  id: 'measured', name: 'a device whose step time was measured', peakFlops: 0, memoryBytes: Number.POSITIVE_INFINITY, memoryBandwidthBytesPerSecond: 0,
  scaleUpBytesPerSecond: 0, scaleUpLink: '—', scaleOutBytesPerSecond: 10e9 / 8, gpusPerNode: 1, powerWatts: 0, efficiency: 1, source: 'measured by the user (--step-time)',
};

function gpuById(id: string): GpuSpec | undefined {
  return id.toLowerCase() === MEASURED_DEVICE.id ? MEASURED_DEVICE : GPU_CATALOG.find((g) => g.id === id.toLowerCase());
}

/** A number from a flag's part; `min0` allows zero. Range errors quote the whole flag value. */
function flagNumber(field: string, text: string, part: string, what: string, accepted: string, min0 = false): number {
  const n = Number(part.trim());
  if (part.trim() === '' || !Number.isFinite(n)) throw new InvalidInputError(field, `"${text}": ${what} "${part}" is not a number`, accepted);
  if (min0 ? n < 0 : n <= 0) throw new InvalidInputError(field, `"${text}": ${what} must be ${min0 ? 'zero or more' : 'above zero'}, got ${part}`, accepted);
  return n;
}

/** `--site ID:GPU:COUNT[:GBPS]`. */
export function parseSiteFlag(text: string): SpanSite {
  const parts = text.split(':');
  if (parts.length < 3 || parts.length > 4) throw new InvalidInputError('site', `"${text}" is not ID:GPU:COUNT[:GBPS]`, SITE_FLAG_FORMAT);
  const [id, gpuId, count, gbps] = parts as [string, string, string, string | undefined];
  const gpu = gpuById(gpuId.trim());
  if (!gpu) throw new InvalidInputError('site', `"${text}": unknown GPU id "${gpuId}"`, `${GPU_CATALOG.map((g) => g.id).join(', ')}, or measured (with --step-time)`);
  const gpus = flagNumber('site', text, count, 'the GPU count', SITE_FLAG_FORMAT);
  if (!Number.isInteger(gpus)) throw new InvalidInputError('site', `"${text}": the GPU count must be a whole number, got ${count}`, SITE_FLAG_FORMAT);
  return { id: id.trim(), gpu, gpus, ...(gbps === undefined ? {} : { intraSiteGbps: flagNumber('site', text, gbps, 'the site network', SITE_FLAG_FORMAT) }) };
}

/**
 * `--wan A-B:GBPS:MS`. Site ids may contain "-": the pair is split where both
 * halves name known sites.
 */
export function parseWanFlag(text: string, siteIds: readonly string[]): WanLink {
  const parts = text.split(':');
  if (parts.length !== 3) throw new InvalidInputError('wan', `"${text}" is not A-B:GBPS:MS`, WAN_FLAG_FORMAT);
  const [pair, gbps, ms] = parts as [string, string, string];
  const known = new Set(siteIds);
  const splits = [...pair.matchAll(/-/g)].map((m) => [pair.slice(0, m.index), pair.slice(m.index + 1)] as const);
  if (splits.length === 0) throw new InvalidInputError('wan', `"${text}": "${pair}" does not name two sites as A-B`, WAN_FLAG_FORMAT);
  const match = splits.find(([a, b]) => known.has(a) && known.has(b));
  if (!match) {
    const [a, b] = splits.length === 1 ? (splits[0] ?? ['', '']) : ['', ''];
    const unknown = splits.length === 1 ? [a, b].filter((s) => !known.has(s)) : [pair];
    throw new InvalidInputError('wan', `"${text}": unknown site${unknown.length > 1 ? 's' : ''} ${unknown.map((s) => `"${s}"`).join(' and ')}${splits.length > 1 ? ' (no split at "-" names two known sites)' : ''}`, `links between the sites given with --site: ${siteIds.join(', ')}`);
  }
  return {
    a: match[0], b: match[1],
    gbps: flagNumber('wan', text, gbps, 'bandwidth', WAN_FLAG_FORMAT),
    latencyMs: flagNumber('wan', text, ms, 'latency', WAN_FLAG_FORMAT, true),
  };
}

/** `--step-time ID=SECONDS`: a site's measured inner-step time. */
export function parseStepFlag(text: string, siteIds: readonly string[]): { readonly id: string; readonly seconds: number } {
  const eq = text.lastIndexOf('=');
  if (eq <= 0) throw new InvalidInputError('step-time', `"${text}" is not ID=SECONDS`, STEP_FLAG_FORMAT);
  const id = text.slice(0, eq).trim();
  if (!siteIds.includes(id)) throw new InvalidInputError('step-time', `"${text}": unknown site "${id}"`, `one of the sites given with --site: ${siteIds.join(', ')}`);
  return { id, seconds: flagNumber('step-time', text, text.slice(eq + 1), 'the step time', STEP_FLAG_FORMAT) };
}

/** Sites and links from flags: each value parsed, then the whole checked together. */
export function topologyFromFlags(siteFlags: readonly string[], wanFlags: readonly string[], stepFlags: readonly string[] = []): { sites: SpanSite[]; links: WanLink[] } {
  const parsed = siteFlags.map(parseSiteFlag);
  const steps = new Map(stepFlags.map((f) => parseStepFlag(f, parsed.map((s) => s.id))).map((s) => [s.id, s.seconds]));
  const sites = parsed.map((s, i) => {
    const seconds = steps.get(s.id);
    if (seconds === undefined && s.gpu === MEASURED_DEVICE) throw new InvalidInputError('site', `"${siteFlags[i] ?? ''}": a measured device needs its step time`, `--step-time ${s.id}=SECONDS`);
    return seconds === undefined ? s : { ...s, innerStepS: seconds };
  });
  const links = wanFlags.map((w) => parseWanFlag(w, sites.map((s) => s.id)));
  checkTopology(sites, links);
  return { sites, links };
}

class JsonSyntaxError extends Error {
  readonly offset: number;
  constructor(offset: number) {
    super(`JSON syntax error at offset ${offset}`);
    this.offset = offset;
  }
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Where every value of a JSON text starts, by path (`sites[0].gpus`), or the offset
 * of the first syntax error. JSON.parse says where it failed only sometimes (Node 20),
 * and never where a valid value sits; this scanner does both.
 */
export function jsonPositions(text: string): { positions: Map<string, number> } | { errorAt: number } {
  const positions = new Map<string, number>();
  let i = 0;
  const fail = (): never => {
    throw new JsonSyntaxError(i);
  };
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++;
  };
  const expect = (c: string) => {
    if (text[i] !== c) fail();
    i++;
  };
  const string = (): string => {
    const start = i;
    expect('"');
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      i += text[i] === '\\' ? 2 : 1;
    }
    expect('"');
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      i = start;
      return fail();
    }
  };
  const value = (path: string): void => {
    space();
    positions.set(path, i);
    const c = text[i] ?? '';
    if (c === '{') {
      i++;
      space();
      if (text[i] === '}') return void i++;
      for (;;) {
        space();
        const key = string();
        space();
        expect(':');
        value(path === '' ? key : `${path}.${key}`);
        space();
        if (text[i] === '}') return void i++;
        expect(',');
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') return void i++;
      for (let k = 0; ; k++) {
        value(`${path}[${k}]`);
        space();
        if (text[i] === ']') return void i++;
        expect(',');
      }
    }
    if (c === '"') return void string();
    for (const word of ['true', 'false', 'null']) if (text.startsWith(word, i)) return void (i += word.length);
    JSON_NUMBER.lastIndex = i;
    const n = JSON_NUMBER.exec(text);
    if (!n || n[0] === '') fail();
    i += n?.[0].length ?? 0;
  };
  try {
    value('');
    space();
    if (i < text.length) fail();
    return { positions };
  } catch (e) {
    if (e instanceof JsonSyntaxError) return { errorAt: e.offset };
    throw e;
  }
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${(before[before.length - 1]?.length ?? 0) + 1}`;
}

const SITE_KEYS = ['id', 'gpu', 'gpus', 'intra_site_gbps', 'mfu', 'inner_step_s'] as const;
const LINK_KEYS = ['between', 'gbps', 'latency_ms'] as const;

/**
 * A topology file's sites and links. `name` is how errors name the file (its path);
 * every error is InvalidInputError on field `topology`, its message starting
 * `name:line:column: path` (e.g. `pool.json:7:14: wan[0].gbps`).
 */
export function parseTopologyFile(name: string, text: string): { sites: SpanSite[]; links: WanLink[] } {
  const scanned = jsonPositions(text);
  if ('errorAt' in scanned) throw new InvalidInputError('topology', `${name}:${lineColumn(text, scanned.errorAt)}: not valid JSON`, TOPOLOGY_FILE_FORMAT);
  const at = (path: string) => {
    const offset = scanned.positions.get(path);
    return `${name}${offset === undefined ? '' : `:${lineColumn(text, offset)}`}: ${path === '' ? 'the file' : path}`;
  };
  const bad = (path: string, problem: string, accepted = TOPOLOGY_FILE_FORMAT) => new InvalidInputError('topology', `${at(path)}: ${problem}`, accepted);
  const root = JSON.parse(text) as unknown;
  const objectAt = (path: string, v: unknown, keys: readonly string[], required: readonly string[]): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(path, 'must be an object');
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!keys.includes(k)) throw bad(path === '' ? k : `${path}.${k}`, 'unknown field', keys.join(', '));
    for (const k of required) if (!(k in o)) throw bad(path, `missing "${k}"`, keys.join(', '));
    return o;
  };
  const arrayAt = (path: string, v: unknown): unknown[] => {
    if (!Array.isArray(v)) throw bad(path, 'must be an array');
    return v as unknown[];
  };
  const stringAt = (path: string, v: unknown): string => {
    if (typeof v !== 'string') throw bad(path, 'must be a string');
    return v;
  };
  const numberAt = (path: string, v: unknown): number => {
    if (typeof v !== 'number') throw bad(path, `must be a number, got ${JSON.stringify(v)}`);
    return v;
  };

  const top = objectAt('', root, ['sites', 'wan'], ['sites']);
  const sites = arrayAt('sites', top.sites).map((raw, i): SpanSite => {
    const p = `sites[${i}]`;
    const s = objectAt(p, raw, SITE_KEYS, ['id', 'gpu', 'gpus']);
    const gpuId = stringAt(`${p}.gpu`, s.gpu);
    const gpu = gpuById(gpuId);
    if (!gpu) throw bad(`${p}.gpu`, `unknown GPU id "${gpuId}"`, `${GPU_CATALOG.map((g) => g.id).join(', ')}, or measured (with inner_step_s)`);
    // A measured inner step (seconds of one inner step of one replica at --batch-tokens) stands for the catalog, as --step-time does.
    const step = s.inner_step_s === undefined ? undefined : numberAt(`${p}.inner_step_s`, s.inner_step_s);
    if (step !== undefined && !(Number.isFinite(step) && step > 0)) throw bad(`${p}.inner_step_s`, `must be above zero, got ${step}`, 'seconds, e.g. 0.05');
    if (step === undefined && gpu === MEASURED_DEVICE) throw bad(p, 'a measured device needs its step time', '"inner_step_s": SECONDS');
    return {
      id: stringAt(`${p}.id`, s.id), gpu, gpus: numberAt(`${p}.gpus`, s.gpus),
      ...(s.intra_site_gbps === undefined ? {} : { intraSiteGbps: numberAt(`${p}.intra_site_gbps`, s.intra_site_gbps) }),
      ...(s.mfu === undefined ? {} : { mfu: numberAt(`${p}.mfu`, s.mfu) }),
      ...(step === undefined ? {} : { innerStepS: step }),
    };
  });
  if (sites.length === 0) throw bad('sites', 'lists no site');
  const links = (top.wan === undefined ? [] : arrayAt('wan', top.wan)).map((raw, i): WanLink => {
    const p = `wan[${i}]`;
    const l = objectAt(p, raw, LINK_KEYS, LINK_KEYS);
    const between = arrayAt(`${p}.between`, l.between);
    if (between.length !== 2) throw bad(`${p}.between`, `must name two sites, got ${between.length}`);
    return { a: stringAt(`${p}.between[0]`, between[0]), b: stringAt(`${p}.between[1]`, between[1]), gbps: numberAt(`${p}.gbps`, l.gbps), latencyMs: numberAt(`${p}.latency_ms`, l.latency_ms) };
  });
  const source: TopologySource = {
    siteField: 'topology',
    linkField: 'topology',
    where: (kind, index, key) => at(`${kind === 'site' ? 'sites' : 'wan'}[${index}]${key === '' ? '' : `.${key}`}`),
  };
  checkTopology(sites, links, source);
  return { sites, links };
}
