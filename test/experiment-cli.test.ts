// `suanli experiment national-span` as users run it, on a pool small enough for a test:
// the big run cannot fit one site, so it never starts unless it may span sites.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SpanExperimentResult } from '../src/sim/span-experiment.ts';
import { inProcess, suanli } from './support/cli.ts';

const TRACE = join(import.meta.dirname, 'fixtures', 'simulate', 'from-trace.csv');
/** 20,000 GPUs in 40 orgs of at most 1,024; a 3M-clip run needs 1,536 H800/H100 GPUs for 10 days. */
const SMALL = ['--trace', TRACE, '--pool', 'national:gpus=20000,orgs=40,max=1024,seed=3', '--span-days', '1', '--load', '0.1', '--job-scale', '8', '--clips', '3M', '--target-days', '10'];

test('national-span: the big run never starts on one site, runs across sites, and the background is measured in both arms', async () => {
  const r = await inProcess(['experiment', 'national-span', ...SMALL, '--json']);
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as SpanExperimentResult & { setup: { big_run: { gpus: number } } };
  assert.equal(doc.schema, 'suanli.experiment.national-span/1');
  assert.equal(doc.setup.big_run.gpus, 1536);
  assert.equal(doc.one_site.big_run.status, 'never');
  assert.match(doc.one_site.big_run.wait_reason ?? '', /no site can ever hold this job/);
  assert.equal(doc.spanning.big_run.status, 'done');
  assert.ok((doc.spanning.big_run.sites_at_start ?? 0) >= 2);
  assert.ok((doc.spanning.big_run.efficiency_at_start ?? 0) >= 0.8);
  // At its efficiency the run takes longer than the 10 days it was sized for at full speed.
  assert.ok((doc.spanning.big_run.days_to_finish ?? 0) > 10);
  assert.equal(doc.one_site.background.jobs, doc.spanning.background.jobs);
  assert.ok(doc.spanning.utilization >= doc.one_site.utilization, 'the big run adds work');
  assert.equal(doc.orgs.length, 40);
});

test('national-span: the table and --report', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'suanli-exp-'));
  try {
    const r = await inProcess(['experiment', 'national-span', ...SMALL, '--report', dir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /one site only +never started/);
    assert.match(r.out, /span sites +started on \d+ sites at \d+%, done [\d.]+ days after submission/);
    assert.match(r.out, /report written to/);
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    assert.match(md, /# Train a Sora-class model on a national pool/);
    const json = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as { schema: string };
    assert.equal(json.schema, 'suanli.experiment.national-span/1');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('national-span: bad flags exit 2 and name the flag', async () => {
  for (const [flags, named] of [
    [['--load', '2'], /load/],
    [['--wan', 'regions=0'], /regions/],
    [['--wan', 'inter=fast'], /inter/],
    [['--job-scale', '0'], /job-scale/],
    [['--model', 'sora-9'], /model|sora-9/],
    [['--pool', 'national:gpus=-1'], /gpus/],
  ] as const) {
    const r = await suanli('experiment', 'national-span', ...SMALL, ...flags);
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, named);
  }
  const missing = await suanli('experiment', 'national-span');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--trace/);
});
