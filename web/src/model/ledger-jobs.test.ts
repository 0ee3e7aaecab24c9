import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LedgerJobJson } from '../api/types.ts';
import { jobUseTotals, ledgerJobRows } from './ledger-jobs.ts';

const row = (job_id: string, consumer: string, provider: string, gpu_h: number, price: number | null): LedgerJobJson => ({
  job_id, job_name: consumer === 'beta' ? `job ${job_id}` : null, consumer_org_id: consumer, provider_org_id: provider, site: `${provider}:site-1`, gpu_type: 'h100',
  gpu_h, last_at: '2026-11-25T10:00:00.000Z', price_per_gpu_hour: price, cost: price === null ? null : gpu_h * price,
});

test('each row as the org’s use: consumed from a lender, contributed to a borrower, or its own', () => {
  const rows = ledgerJobRows([row('1', 'beta', 'acme', 6, 2.5), row('2', 'acme', 'beta', 3, null), row('3', 'beta', 'beta', 1, 1)], 'beta');
  assert.deepEqual(rows.map((r) => [r.job_id, r.use, r.otherOrg]), [['1', 'consumed', 'acme'], ['2', 'contributed', 'acme'], ['3', 'own', null]]);
});

test('totals per use, with the cost of the priced GPU-hours and the GPU-hours with no price apart', () => {
  const rows = ledgerJobRows([row('1', 'beta', 'acme', 6, 2.5), row('4', 'beta', 'gamma', 2, null), row('2', 'acme', 'beta', 3, null)], 'beta');
  assert.deepEqual(jobUseTotals(rows), [
    { use: 'consumed', gpuH: 8, cost: 15, unpricedGpuH: 2 },
    { use: 'contributed', gpuH: 3, cost: null, unpricedGpuH: 3 },
  ]);
  assert.deepEqual(jobUseTotals([]), []);
});
