import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { jobId, orgId, siteId, type OrgId, type SiteId } from '../model/ids.ts';
import { utf8 } from './encoding.ts';
import { leafHash } from './merkle.ts';
import { generateSignerKey, noteSigner, noteVerifier, signNote, type NoteVerifier } from './note.ts';
import {
  countersignRecordNote,
  credits,
  formatUsageRecord,
  gpuSecondsOf,
  openRecordNote,
  parseUsageRecord,
  recordNote,
  USAGE_OUTCOMES,
  type RecordOpening,
  type UsageRecord,
} from './usage-record.ts';

const HOUR = 3_600_000;
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/** A record: beta-labs' job on acme's site, 8 H100 for an hour, written by the site. */
function record(patch: Partial<UsageRecord> = {}): UsageRecord {
  const base = { jobId: jobId('4312'), attempt: 1, siteId: siteId('acme-east'), consumerOrgId: orgId('beta-labs'), providerOrgId: orgId('acme'), gpuType: 'h100', gpus: 8, startMs: T0, endMs: T0 + HOUR, outcome: 'succeeded', writer: 'site', ...patch } as const;
  return { ...base, gpuSeconds: patch.gpuSeconds ?? gpuSecondsOf(base.gpus, base.startMs, base.endMs) };
}

const GOLDEN = `suanli/usage-record/v1
job 4312
attempt 1
site acme-east
consumer beta-labs
provider acme
gpu-type h100
gpus 8
start-ms 1767225600000
end-ms 1767229200000
gpu-seconds 28800
outcome succeeded
writer site
`;

test('a record has one canonical text, and parses back to itself', () => {
  assert.equal(formatUsageRecord(record()), GOLDEN);
  assert.deepEqual(parseUsageRecord(GOLDEN), record());
  for (const outcome of USAGE_OUTCOMES) assert.deepEqual(parseUsageRecord(formatUsageRecord(record({ outcome }))), record({ outcome }));
  const byControlPlane = record({ writer: 'control-plane', outcome: 'lost' });
  assert.deepEqual(parseUsageRecord(formatUsageRecord(byControlPlane)), byControlPlane);
});

test('GPU-seconds are gpus × (end − start) / 1000 written exactly, or refused', () => {
  const text = (gpus: number, ms: number) => formatUsageRecord(record({ gpus, endMs: T0 + ms })).split('\n')[10];
  assert.equal(text(3, 1), 'gpu-seconds 0.003');
  assert.equal(text(3, 1500), 'gpu-seconds 4.5');
  assert.equal(text(7, 333), 'gpu-seconds 2.331');
  assert.equal(text(1, 0), 'gpu-seconds 0');
  assert.equal(text(100_000, 90 * 24 * HOUR), 'gpu-seconds 777600000000');
  // Past 2^53 GPU-ms a double product rounds; the text and the field do not.
  const big = record({ gpus: 3, startMs: 0, endMs: 3_002_399_751_580_331 });
  assert.match(formatUsageRecord(big), /\ngpu-seconds 9007199254740\.993\n/);
  assert.equal(big.gpuSeconds, Number('9007199254740.993'));
  assert.throws(() => formatUsageRecord(record({ gpuSeconds: 28_800.001 })), { field: 'gpuSeconds' });
  assert.throws(() => formatUsageRecord(record({ gpuSeconds: 28_799 })), { field: 'gpuSeconds' });
  for (const written of ['28800.0', '28800.', '028800', '28800.0000', '2.88e4', '28,800', '-28800', '28801']) {
    assert.throws(() => parseUsageRecord(GOLDEN.replace('gpu-seconds 28800', `gpu-seconds ${written}`)), { code: 'invalid_input', field: 'usage record line 11 (gpu-seconds)' }, written);
  }
});

test('a record that is not canonical is refused with its line named', () => {
  const cases: [string, string][] = [
    [GOLDEN.replace('suanli/usage-record/v1', 'suanli/usage-record/v2'), 'usage record line 1'],
    [GOLDEN.slice(0, -1), 'usage record line 1'],
    [GOLDEN.replace('job 4312', 'job 43 12'), 'usage record line 2 (job)'],
    [GOLDEN.replace('job 4312', 'job  4312'), 'usage record line 2 (job)'],
    [GOLDEN.replace('job 4312', 'job'), 'usage record line 2 (job)'],
    [GOLDEN.replace('attempt 1', 'attempt 0'), 'usage record line 3 (attempt)'],
    [GOLDEN.replace('attempt 1', 'attempt 01'), 'usage record line 3 (attempt)'],
    [GOLDEN.replace('site acme-east', 'site acmé'), 'usage record line 4 (site)'],
    [GOLDEN.replace('consumer beta-labs', 'provider beta-labs'), 'usage record line 5 (consumer)'],
    [GOLDEN.replace('gpus 8', 'gpus 0'), 'usage record line 8 (gpus)'],
    [GOLDEN.replace('gpus 8', 'gpus 8.5'), 'usage record line 8 (gpus)'],
    [GOLDEN.replace('start-ms 1767225600000', 'start-ms -1'), 'usage record line 9 (start-ms)'],
    [GOLDEN.replace('end-ms 1767229200000', 'end-ms 1767225599999'), 'usage record line 10 (end-ms)'],
    [GOLDEN.replace('end-ms 1767229200000', 'end-ms 99999999999999999999'), 'usage record line 10 (end-ms)'],
    [GOLDEN.replace('outcome succeeded', 'outcome won'), 'usage record line 12 (outcome)'],
    [GOLDEN.replace('writer site', 'writer agent'), 'usage record line 13 (writer)'],
    [GOLDEN.replace('writer site\n', ''), 'usage record line 13 (writer)'],
    [`${GOLDEN}note nothing\n`, 'usage record line 14'],
    [GOLDEN.replace('outcome succeeded\nwriter site', 'writer site\noutcome succeeded'), 'usage record line 12 (outcome)'],
  ];
  for (const [bad, field] of cases) assert.throws(() => parseUsageRecord(bad), { code: 'invalid_input', field }, bad);
  assert.throws(() => formatUsageRecord(record({ siteId: siteId('acme east') })), { field: 'siteId' });
  assert.throws(() => formatUsageRecord(record({ gpuType: 'h100\nwriter control-plane' })), { field: 'gpuType' });
  assert.throws(() => formatUsageRecord(record({ consumerOrgId: orgId('') })), { field: 'consumerOrgId' });
  assert.throws(() => formatUsageRecord(record({ attempt: 1.5 })), { field: 'attempt' });
  assert.throws(() => formatUsageRecord(record({ outcome: 'won' as never })), { field: 'outcome' });
});

// The keys of a small pool: the control plane, and the sites of two members.
const cpKey = generateSignerKey('suanli.example/control-plane', new Uint8Array(32).fill(1));
const siteKeys = new Map<string, { signerKey: string; verifierKey: string }>([
  ['acme-east', generateSignerKey('acme-east.sites.suanli.example', new Uint8Array(32).fill(2))],
  ['beta-1', generateSignerKey('beta-1.sites.suanli.example', new Uint8Array(32).fill(3))],
]);
const cp = noteSigner(cpKey.signerKey);
const siteSigner = (site: string) => noteSigner(siteKeys.get(site)!.signerKey);
const siteVerifiers = (site: SiteId): NoteVerifier[] => (siteKeys.has(site) ? [noteVerifier(siteKeys.get(site)!.verifierKey)] : []);
const keys = { controlPlane: [noteVerifier(cpKey.verifierKey)], site: siteVerifiers };
const reasonOf = (o: RecordOpening | { ok: boolean; reason?: string }) => (o.ok ? 'ok' : o.reason);

test('a logged record is signed by its site and countersigned by the control plane; its leaf is the note', () => {
  const bySite = recordNote(record(), [siteSigner('acme-east')]);
  assert.equal(reasonOf(openRecordNote(bySite, keys)), 'not_countersigned', 'the site alone: not yet logged');
  const countersigned = countersignRecordNote(bySite, siteVerifiers, cp);
  assert.ok(countersigned.ok);
  assert.deepEqual(countersigned.note, recordNote(record(), [siteSigner('acme-east'), cp]), 'the same bytes as signing at once');
  const opened = openRecordNote(countersigned.note, keys);
  assert.ok(opened.ok);
  assert.deepEqual(opened.record, record());
  assert.equal(opened.siteSignature?.name, 'acme-east.sites.suanli.example');
  assert.equal(opened.controlPlaneSignature.name, 'suanli.example/control-plane');
  assert.equal(leafHash(countersigned.note).length, 32);

  // A record the control plane wrote alone needs no site signature; one the site wrote does.
  assert.ok(openRecordNote(recordNote(record({ writer: 'control-plane', outcome: 'lost' }), [cp]), keys).ok);
  assert.equal(reasonOf(openRecordNote(recordNote(record(), [cp]), keys)), 'not_signed_by_site');
});

test("the control plane countersigns only what the record's own site signed, and drops every other line", () => {
  // Another member's site key signing acme's record is not acme-east's signature.
  const wrongSite = recordNote(record(), [siteSigner('beta-1')]);
  assert.equal(reasonOf(countersignRecordNote(wrongSite, siteVerifiers, cp)), 'not_signed_by_site');
  assert.equal(reasonOf(openRecordNote(recordNote(record(), [siteSigner('beta-1'), cp]), keys)), 'not_signed_by_site');
  assert.equal(reasonOf(countersignRecordNote(recordNote(record({ writer: 'control-plane' }), [siteSigner('acme-east')]), siteVerifiers, cp)), 'wrong_writer');
  assert.equal(reasonOf(countersignRecordNote(recordNote(record({ siteId: siteId('nowhere') }), [siteSigner('acme-east')]), siteVerifiers, cp)), 'not_signed_by_site');
  const stranger = noteSigner(generateSignerKey('stranger', new Uint8Array(32).fill(9)).signerKey);
  const withExtra = recordNote(record(), [stranger, siteSigner('acme-east')]);
  const countersigned = countersignRecordNote(withExtra, siteVerifiers, cp);
  assert.ok(countersigned.ok);
  assert.deepEqual(countersigned.note, recordNote(record(), [siteSigner('acme-east'), cp]));
});

test('an altered, malformed or foreign note does not open, and says why', () => {
  const logged = recordNote(record(), [siteSigner('acme-east'), cp]);
  const text = new TextDecoder().decode(logged);
  assert.equal(reasonOf(openRecordNote(utf8(text.replace('gpus 8', 'gpus 9').replace('gpu-seconds 28800', 'gpu-seconds 32400')), keys)), 'bad_signature');
  assert.equal(reasonOf(openRecordNote(utf8(text.slice(0, -1)), keys)), 'malformed_note');
  const notARecord = openRecordNote(signNote('hello\n', [cp]), keys);
  assert.ok(!notARecord.ok && notARecord.reason === 'malformed_record' && notARecord.line === 1);
  const badLine = openRecordNote(signNote(GOLDEN.replace('gpus 8', 'gpus eight'), [cp]), keys);
  assert.ok(!badLine.ok && badLine.reason === 'malformed_record' && badLine.line === 8, JSON.stringify(badLine));
  assert.equal(reasonOf(openRecordNote(logged, { controlPlane: [], site: siteVerifiers })), 'not_countersigned');
  assert.equal(reasonOf(openRecordNote(logged, { ...keys, site: () => [...keys.controlPlane] })), 'ambiguous_key');
});

test("credits count as the server's ledger does: contributed, consumed and own GPU-hours per GPU type", () => {
  const acme = orgId('acme');
  const beta = orgId('beta-labs');
  const records = [
    record(), // beta on acme's site: 8 GPU-h contributed by acme, consumed by beta
    record({ jobId: jobId('1'), consumerOrgId: acme, gpus: 2 }), // acme on its own site: 2 GPU-h own
    record({ jobId: jobId('2'), siteId: siteId('beta-1'), providerOrgId: beta, consumerOrgId: acme, gpuType: 'a100', gpus: 4, endMs: T0 + HOUR / 2 }), // acme on beta's: 2 GPU-h
    record({ jobId: jobId('3'), gpuType: 'a100', endMs: T0 }), // a zero-length run still makes a row
    record({ jobId: jobId('4'), siteId: siteId('c-1'), providerOrgId: orgId('c'), consumerOrgId: orgId('c') }), // neither's
  ];
  assert.deepEqual(credits(records, acme), [
    { orgId: acme, gpuType: 'a100', contributedGpuH: 0, consumedGpuH: 2, ownGpuH: 0, creditsGpuH: -2 },
    { orgId: acme, gpuType: 'h100', contributedGpuH: 8, consumedGpuH: 0, ownGpuH: 2, creditsGpuH: 8 },
  ]);
  assert.deepEqual(credits(records, beta), [
    { orgId: beta, gpuType: 'a100', contributedGpuH: 2, consumedGpuH: 0, ownGpuH: 0, creditsGpuH: 2 },
    { orgId: beta, gpuType: 'h100', contributedGpuH: 0, consumedGpuH: 8, ownGpuH: 0, creditsGpuH: -8 },
  ]);
  assert.deepEqual(credits(records, orgId('nobody')), []);
  assert.throws(() => credits([{ ...record(), gpuSeconds: 1 }], acme), { field: 'records[0].gpuSeconds' });
});

test('property: credits are exact — the same bits in any order, and what one org contributes another consumes', () => {
  const orgs = ['a', 'b', 'c'].map(orgId);
  const arbRecord = fc.record({ provider: fc.constantFrom(...orgs), consumer: fc.constantFrom(...orgs), gpus: fc.integer({ min: 1, max: 4096 }), ms: fc.integer({ min: 0, max: 40 * 24 * HOUR }), gpuType: fc.constantFrom('h100', 'a100', 'l40s') });
  fc.assert(
    fc.property(fc.array(arbRecord, { maxLength: 40 }), fc.nat(), (arbs, seed) => {
      const records = arbs.map((a, i) => record({ jobId: jobId(String(i)), siteId: siteId(`${a.provider}-site`), providerOrgId: a.provider, consumerOrgId: a.consumer, gpuType: a.gpuType, gpus: a.gpus, endMs: T0 + a.ms }));
      const shuffled = [...records].sort((x, y) => ((Number(x.jobId) * 7919 + seed) % 101) - ((Number(y.jobId) * 7919 + seed) % 101));
      for (const org of orgs) assert.deepEqual(credits(shuffled, org), credits(records, org));
      // Exactly: in GPU-ms, the pool's contributions equal its consumption, type by type.
      const exactMs = (gpuH: number) => Math.round(gpuH * HOUR);
      for (const type of ['h100', 'a100', 'l40s']) {
        const rows = orgs.flatMap((o: OrgId) => credits(records, o).filter((r) => r.gpuType === type));
        assert.equal(rows.reduce((n, r) => n + exactMs(r.contributedGpuH), 0), rows.reduce((n, r) => n + exactMs(r.consumedGpuH), 0));
      }
    }),
    { numRuns: 100 },
  );
});
