import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonPositions, parseSiteFlag, parseTopologyFile, parseWanFlag, topologyFromFlags } from './span-topology.ts';

/** The error's field and message, for asserting both at once. */
function failure(fn: () => unknown): { field: string; message: string } {
  try {
    fn();
  } catch (e) {
    const err = e as Error & { field?: string };
    return { field: err.field ?? '', message: err.message };
  }
  return assert.fail('expected an error');
}

const TOPOLOGY = `{
  "sites": [
    { "id": "us-east", "gpu": "h100", "gpus": 1024, "intra_site_gbps": 400 },
    { "id": "eu", "gpu": "a100", "gpus": 512, "mfu": 0.5 }
  ],
  "wan": [
    { "between": ["us-east", "eu"], "gbps": 10, "latency_ms": 40 }
  ]
}`;

test('flags: --site ID:GPU:COUNT[:GBPS] and --wan A-B:GBPS:MS, with "-" inside site ids', () => {
  assert.deepEqual(parseSiteFlag('b:a100:512:200').intraSiteGbps, 200);
  const { sites, links } = topologyFromFlags(['us-east:h100:1024', 'eu-west:a100:512'], ['us-east-eu-west:10:30']);
  assert.deepEqual(sites.map((s) => [s.id, s.gpu.id, s.gpus]), [['us-east', 'h100', 1024], ['eu-west', 'a100', 512]]);
  assert.deepEqual(links, [{ a: 'us-east', b: 'eu-west', gbps: 10, latencyMs: 30 }]);
});

test('flag errors name the flag and quote the value', () => {
  assert.deepEqual(failure(() => parseWanFlag('a-x:10:30', ['a', 'b'])), { field: 'wan', message: 'wan: "a-x:10:30": unknown site "x"; accepted: links between the sites given with --site: a, b' });
  assert.match(failure(() => parseWanFlag('a-b:-5:30', ['a', 'b'])).message, /^wan: "a-b:-5:30": bandwidth must be above zero, got -5/);
  assert.match(failure(() => parseWanFlag('a-b:ten:30', ['a', 'b'])).message, /bandwidth "ten" is not a number/);
  assert.match(failure(() => parseWanFlag('a-b:1:-1', ['a', 'b'])).message, /latency must be zero or more/);
  assert.match(failure(() => parseWanFlag('ab:1:1', ['a', 'b'])).message, /does not name two sites/);
  assert.equal(failure(() => parseSiteFlag('a:b200:8')).field, 'site');
  assert.match(failure(() => parseSiteFlag('a:h100:8.5')).message, /whole number/);
  assert.match(failure(() => parseSiteFlag('a:h100')).message, /is not ID:GPU:COUNT/);
  assert.deepEqual(failure(() => topologyFromFlags(['a:h100:8', 'a:h100:8'], [])), { field: 'site', message: 'site: site 2 (id): site "a" is given twice; accepted: each site once' });
  assert.match(failure(() => topologyFromFlags(['a:h100:8', 'b:h100:8'], ['a-b:1:1', 'b-a:2:2'])).message, /^wan: link 2 \(between\): the link b-a is given twice/);
});

test('--step-time ID=SECONDS: a site’s measured inner step; a measured device needs one; bad values name the flag', () => {
  const { sites } = topologyFromFlags(['cpu-a:measured:1', 'b:h100:8'], ['cpu-a-b:1:1'], ['cpu-a=0.05', 'b=2']);
  assert.deepEqual(sites.map((x) => [x.id, x.gpu.id, x.innerStepS]), [['cpu-a', 'measured', 0.05], ['b', 'h100', 2]]);
  assert.deepEqual(failure(() => topologyFromFlags(['a:measured:1'], [])), { field: 'site', message: 'site: "a:measured:1": a measured device needs its step time; accepted: --step-time a=SECONDS' });
  assert.match(failure(() => topologyFromFlags(['a:h100:1'], [], ['z=1'])).message, /^step-time: "z=1": unknown site "z"/);
  assert.match(failure(() => topologyFromFlags(['a:h100:1'], [], ['a=0'])).message, /^step-time: "a=0": the step time must be above zero/);
  assert.match(failure(() => topologyFromFlags(['a:h100:1'], [], ['a'])).message, /^step-time: "a" is not ID=SECONDS/);
});

test('a topology file gives the same sites and links', () => {
  const { sites, links } = parseTopologyFile('pool.json', TOPOLOGY);
  assert.deepEqual(sites.map((s) => [s.id, s.gpu.id, s.gpus, s.intraSiteGbps, s.mfu]), [['us-east', 'h100', 1024, 400, undefined], ['eu', 'a100', 512, undefined, 0.5]]);
  assert.deepEqual(links, [{ a: 'us-east', b: 'eu', gbps: 10, latencyMs: 40 }]);
});

test('a topology file’s site may give its measured inner step, on hardware outside the catalog too (as --step-time)', () => {
  const { sites } = parseTopologyFile('pool.json', TOPOLOGY.replace('"gpu": "a100"', '"gpu": "measured"').replace('"mfu": 0.5', '"inner_step_s": 0.028'));
  assert.deepEqual(sites.map((s) => [s.id, s.gpu.id, s.innerStepS]), [['us-east', 'h100', undefined], ['eu', 'measured', 0.028]]);
});

test('a malformed topology file is named by file:line:column and the field', () => {
  const broken = TOPOLOGY.replace('"gpus": 512,', '"gpus": 512');
  assert.deepEqual(failure(() => parseTopologyFile('pool.json', broken)).field, 'topology');
  assert.match(failure(() => parseTopologyFile('pool.json', broken)).message, /^topology: pool\.json:4:46: not valid JSON/);
  assert.match(failure(() => parseTopologyFile('pool.json', '{"sites": [')).message, /pool\.json:1:12: not valid JSON/);
  assert.match(failure(() => parseTopologyFile('pool.json', TOPOLOGY.replace('"gbps": 10', '"gbps": -10'))).message, /^topology: pool\.json:7:45: wan\[0\]\.gbps: bandwidth must be above zero, got -10/);
  assert.match(failure(() => parseTopologyFile('pool.json', TOPOLOGY.replace('["us-east", "eu"]', '["us-east", "asia"]'))).message, /pool\.json:7:30: wan\[0\]\.between\[1\]: unknown site "asia"/);
  assert.match(failure(() => parseTopologyFile('pool.json', TOPOLOGY.replace('"gpus": 1024', '"gpus": "many"'))).message, /pool\.json:3:47: sites\[0\]\.gpus: must be a number, got "many"/);
  assert.match(failure(() => parseTopologyFile('pool.json', TOPOLOGY.replace('"mfu"', '"mfuu"'))).message, /sites\[1\]\.mfuu: unknown field; accepted: id, gpu, gpus, intra_site_gbps, mfu, inner_step_s/);
  assert.match(failure(() => parseTopologyFile('pool.json', TOPOLOGY.replace('"gpu": "a100"', '"gpu": "measured"'))).message, /pool\.json:4:\d+: sites\[1\]: a measured device needs its step time; accepted: "inner_step_s": SECONDS/);
  assert.match(failure(() => parseTopologyFile('pool.json', TOPOLOGY.replace('"mfu": 0.5', '"inner_step_s": 0'))).message, /sites\[1\]\.inner_step_s: must be above zero, got 0/);
  assert.match(failure(() => parseTopologyFile('pool.json', TOPOLOGY.replace('"gpu": "a100"', '"gpu": "b200"'))).message, /sites\[1\]\.gpu: unknown GPU id "b200"/);
  assert.match(failure(() => parseTopologyFile('pool.json', '{"wan": []}')).message, /pool\.json:1:1: the file: missing "sites"/);
  assert.match(failure(() => parseTopologyFile('pool.json', '[]')).message, /the file: must be an object/);
  assert.match(failure(() => parseTopologyFile('pool.json', '{"sites": []}')).message, /sites: lists no site/);
});

test('jsonPositions agrees with JSON.parse on what is valid, and finds every value', () => {
  for (const text of ['{}', '[]', '"x"', '-1.5e3', ' {"a": [1, {"b": null}], "c": true} ', '{"a\\"b": "\\u00e9"}']) {
    JSON.parse(text);
    assert.ok('positions' in jsonPositions(text), text);
  }
  for (const text of ['', '{', '{"a" 1}', '[1,]', '{"a": 01}', '"\\x"', 'tru', '{} x', '{"a": "\n"}']) {
    assert.throws(() => JSON.parse(text) as unknown);
    assert.ok('errorAt' in jsonPositions(text), text);
  }
  const scanned = jsonPositions('{"a": [10, {"b": 2}]}');
  assert.ok('positions' in scanned);
  assert.deepEqual([...scanned.positions], [['', 0], ['a', 6], ['a[0]', 7], ['a[1]', 11], ['a[1].b', 17]]);
});
