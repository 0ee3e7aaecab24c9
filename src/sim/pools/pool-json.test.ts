import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { orgId, siteId } from '../../model/ids.ts';
import type { PoolSpec } from '../../model/pool.ts';
import { parsePoolJson, poolToJson } from './pool-json.ts';

const site = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ id: 's1', org: 'a', nodes: 4, gpus_per_node: 8, gpu_type: 'v100', ...extra });
const poolText = (value: unknown): string => JSON.stringify(value);

/** The message of the InvalidInputError that parsing `text` as pool.json throws. */
function failure(text: string): string {
  try {
    parsePoolJson(text, 'pool.json');
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'invalid_input');
    assert.equal((err as { field?: string }).field, 'pool');
    return (err as Error).message;
  }
  assert.fail(`expected ${text} to be rejected`);
}

test('a minimal pool gets the default share policy and an org per named org', () => {
  const pool = parsePoolJson(poolText({ sites: [site(), site({ id: 's2', org: 'b', nodes: 2, gpu_type: 'a100' })] }), 'pool.json');
  assert.deepEqual(pool, {
    orgs: [{ id: 'a' }, { id: 'b' }],
    sites: [
      { id: 's1', org: 'a', nodes: 4, gpusPerNode: 8, gpuType: 'v100', share: { lendFraction: 1, reclaim: true, reclaimNoticeS: 0 } },
      { id: 's2', org: 'b', nodes: 2, gpusPerNode: 8, gpuType: 'a100', share: { lendFraction: 1, reclaim: true, reclaimNoticeS: 0 } },
    ],
  });
});

test('every optional field is read', () => {
  const text = poolText({
    orgs: [{ id: 'z', name: 'Zeta Labs' }, { id: 'a', name: 'Acme' }],
    sites: [site({ price_per_gpu_hour: 2.5, region: 'beijing', lend_fraction: 0.25, reclaim: false, reclaim_notice_s: 600 })],
  });
  assert.deepEqual(parsePoolJson(text, 'pool.json'), {
    orgs: [
      { id: 'z', name: 'Zeta Labs' },
      { id: 'a', name: 'Acme' },
    ],
    sites: [
      {
        id: 's1', org: 'a', nodes: 4, gpusPerNode: 8, gpuType: 'v100', pricePerGpuHour: 2.5, region: 'beijing',
        share: { lendFraction: 0.25, reclaim: false, reclaimNoticeS: 600 },
      },
    ],
  });
  const zero = parsePoolJson(poolText({ sites: [site({ lend_fraction: 0, price_per_gpu_hour: 0 })] }), 'pool.json');
  assert.equal(zero.sites[0]?.share.lendFraction, 0, 'an org may lend nothing');
  assert.equal(zero.sites[0]?.pricePerGpuHour, 0);
});

test('schema errors name the file, the JSON path and the bad value', () => {
  const three = (bad: Record<string, unknown>): string => poolText({ sites: [site(), site({ id: 's2' }), site({ id: 's3', ...bad })] });
  assert.match(failure(three({ gpus_per_node: 0 })), /^pool: pool\.json: sites\[2\]\.gpus_per_node: expected a whole number ≥ 1, got 0; accepted: /);
  assert.match(failure(three({ nodes: 2.5 })), /pool\.json: sites\[2\]\.nodes: expected a whole number ≥ 1, got 2\.5/);
  assert.match(failure(three({ nodes: '4' })), /pool\.json: sites\[2\]\.nodes: expected a whole number ≥ 1, got "4"/);
  assert.match(failure(three({ gpu_type: '' })), /pool\.json: sites\[2\]\.gpu_type: expected a non-empty string, got ""/);
  assert.match(failure(three({ lend_fraction: 1.5 })), /pool\.json: sites\[2\]\.lend_fraction: expected a number from 0 to 1, got 1\.5/);
  assert.match(failure(three({ reclaim: 'yes' })), /pool\.json: sites\[2\]\.reclaim: expected true or false, got "yes"/);
  assert.match(failure(three({ reclaim_notice_s: -1 })), /pool\.json: sites\[2\]\.reclaim_notice_s: expected a number ≥ 0, got -1/);
  assert.match(failure(three({ price_per_gpu_hour: null })), /pool\.json: sites\[2\]\.price_per_gpu_hour: expected a number ≥ 0, got null/);
  assert.match(failure(three({ region: 7 })), /pool\.json: sites\[2\]\.region: expected a non-empty string, got 7/);
  assert.match(failure(three({ gpus_per_nodes: 8 })), /pool\.json: sites\[2\]: unknown key "gpus_per_nodes"; a site may have id, org, nodes, gpus_per_node,/);
  const missing = { ...site() };
  delete missing.org;
  assert.match(failure(poolText({ sites: [missing] })), /pool\.json: sites\[0\]\.org: missing, expected a non-empty string/);
  assert.match(failure(poolText({ sites: [3] })), /pool\.json: sites\[0\]: expected a site, got 3/);
  assert.match(failure(poolText({ sites: [] })), /pool\.json: sites: expected at least one site, got \[\]/);
  assert.match(failure(poolText({ sites: {} })), /pool\.json: sites: expected an array of sites, got \{\}/);
  assert.match(failure(poolText({})), /pool\.json: sites: missing, expected an array of sites/);
  assert.match(failure(poolText([site()])), /pool\.json: \(top level\): expected a pool, got \[\{/);
  assert.match(failure(poolText({ site: [site()], sites: [site()] })), /pool\.json: \(top level\): unknown key "site"; a pool may have orgs, sites/);
  assert.match(failure(poolText({ orgs: [{ id: 'a', title: 'Acme' }], sites: [site()] })), /pool\.json: orgs\[0\]: unknown key "title"; an org may have id, name/);
  assert.match(failure(poolText({ orgs: [{ name: 'Acme' }], sites: [site()] })), /pool\.json: orgs\[0\]\.id: missing, expected a non-empty string/);
});

test('several problems are listed together, up to five', () => {
  const message = failure(poolText({ sites: Array.from({ length: 7 }, (_, i) => site({ id: `s${i}`, nodes: 0 })) }));
  assert.match(message, /sites\[0\]\.nodes: .*; pool\.json: sites\[1\]\.nodes: .*sites\[4\]\.nodes: expected a whole number ≥ 1, got 0; and 2 more; accepted/);
});

test('duplicate site and org ids are errors naming both places', () => {
  assert.match(failure(poolText({ sites: [site(), site({ id: 's2' }), site()] })), /pool\.json: sites\[2\]\.id: duplicate site id "s1" \(first at sites\[0\]\)/);
  assert.match(failure(poolText({ orgs: [{ id: 'a' }, { id: 'a' }], sites: [site()] })), /pool\.json: orgs\[1\]\.id: duplicate org id "a"/);
});

test('malformed JSON names the file, line and column', () => {
  assert.match(failure('{\n  "sites": [\n    {"id": "s1",}\n  ]\n}'), /pool\.json: not valid JSON: line 3, column 17: expected a property name in double quotes, found "}"/);
  assert.match(failure('{"sites": }'), /pool\.json: not valid JSON: line 1, column 11: expected a value, found "}"/);
  assert.match(failure('{"sites": [1 2]}'), /line 1, column 14: expected ',' or '\]' after an array element, found "2"/);
  assert.match(failure('{"sites": [tru]}'), /line 1, column 12: expected a value, found "t"/);
  assert.match(failure('{"sites": [01]}'), /line 1, column 13: numbers may not have leading zeros/);
  assert.match(failure('{"sites": "a\nb"}'), /line 1, column 13: a control character/);
  assert.match(failure('{"sites": [1]'), /line 1, column 14: expected ',' or '}' after a property value, found the end of the text/);
  assert.match(failure('{"sites": "abc'), /line 1, column 11: a string is never closed/);
  assert.match(failure('{} x'), /line 1, column 4: unexpected "x" after the JSON value/);
  assert.match(failure(''), /line 1, column 1: expected a value, found the end of the text/);
});

test('poolToJson writes a file that reads back to the same pool', () => {
  const pool: PoolSpec = {
    orgs: [{ id: orgId('a'), name: 'Acme "GPU" Co' }, { id: orgId('b') }, { id: orgId('c') }],
    sites: [
      { id: siteId('s1'), org: orgId('a'), nodes: 4, gpusPerNode: 8, gpuType: 'h100', pricePerGpuHour: 2.25, region: 'shanghai', share: { lendFraction: 0.5, reclaim: false, reclaimNoticeS: 30 } },
      { id: siteId('s2'), org: orgId('b'), nodes: 1, gpusPerNode: 2, gpuType: 'a10', share: { lendFraction: 1, reclaim: true, reclaimNoticeS: 0 } },
    ],
  };
  const text = poolToJson(pool);
  assert.deepEqual(parsePoolJson(text, 'out.json'), pool);
  assert.equal(text.split('\n').length, 2 + 1 + 3 + 1 + 1 + 2 + 1 + 1, 'one org or site per line');
});

test('round trip holds for any valid pool', () => {
  const name = fc.string({ minLength: 1, maxLength: 8 });
  const arbitrarySite = fc.record(
    {
      org: fc.constantFrom('a', 'b', 'c'),
      nodes: fc.integer({ min: 1, max: 1000 }),
      gpus_per_node: fc.integer({ min: 1, max: 16 }),
      gpu_type: name,
      price_per_gpu_hour: fc.double({ min: 0, max: 100, noNaN: true }),
      region: name,
      lend_fraction: fc.double({ min: 0, max: 1, noNaN: true }),
      reclaim: fc.boolean(),
      reclaim_notice_s: fc.integer({ min: 0, max: 3600 }),
    },
    { requiredKeys: ['org', 'nodes', 'gpus_per_node', 'gpu_type'] },
  );
  fc.assert(
    fc.property(fc.array(arbitrarySite, { minLength: 1, maxLength: 6 }), (sites) => {
      const text = poolText({ sites: sites.map((s, i) => ({ id: `s${i}`, ...s })) });
      const pool = parsePoolJson(text, 'p.json');
      assert.deepEqual(parsePoolJson(poolToJson(pool), 'p.json'), pool);
    }),
  );
});
