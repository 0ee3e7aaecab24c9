// The admin pages' and the share policy's forms: each bad value named on its field before
// anything is sent, the bodies the API takes, and the API's refusals put back on their field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ShareJson } from '../api/types.ts';
import {
  formFieldOf, GRANTABLE_ROLES, NEW_ORG_FORM, NEW_SITE_FORM, NEW_TOKEN_FORM, orgRequestOf, SHARE_API_FIELDS, shareFormOf, sharePatchOf, SITE_API_FIELDS, siteRequestOf, TOKEN_API_FIELDS, tokenRequestOf,
} from './admin-forms.ts';
import { site } from './test-data.ts';

const problems = (checked: { ok: boolean; errors?: object }) => (checked.ok ? [] : Object.keys(checked.errors ?? {}).sort());

test('an org: a name, and an id only when given (the API makes one of the name)', () => {
  assert.deepEqual(orgRequestOf({ id: '', name: ' Acme Labs ' }), { ok: true, body: { name: 'Acme Labs' } });
  assert.deepEqual(orgRequestOf({ id: 'acme', name: 'Acme' }), { ok: true, body: { id: 'acme', name: 'Acme' } });
  assert.deepEqual(problems(orgRequestOf(NEW_ORG_FORM)), ['name']);
  assert.deepEqual(problems(orgRequestOf({ id: 'Acme Labs', name: 'x'.repeat(201) })), ['id', 'name']);
});

test('a site: one GPU type with its nodes, the org the admin names, a price or none', () => {
  assert.deepEqual(siteRequestOf({ ...NEW_SITE_FORM, name: 'lab', org: 'acme', price: '2.5' }, true), {
    ok: true, body: { name: 'lab', org_id: 'acme', capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }], price_per_gpu_hour: 2.5 },
  });
  assert.deepEqual(siteRequestOf({ ...NEW_SITE_FORM, name: 'lab', org: 'ignored' }, false), { ok: true, body: { name: 'lab', capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }], price_per_gpu_hour: null } }, 'an org-admin names no org');
  assert.deepEqual(problems(siteRequestOf({ name: '', org: '', gpuType: 'h 100', nodes: '1.5', gpusPerNode: '65', price: '-1' }, true)), ['gpuType', 'gpusPerNode', 'name', 'nodes', 'org', 'price']);
});

test('a token: roles the caller may grant; an org for all but an admin token (the admin names it); a site for an agent', () => {
  const admin = GRANTABLE_ROLES.admin;
  assert.deepEqual(tokenRequestOf({ name: 'ops', role: 'admin', org: 'acme', site: 'x' }, admin, true), { ok: true, body: { name: 'ops', role: 'admin' } });
  assert.deepEqual(tokenRequestOf({ name: 'a', role: 'agent', org: 'acme', site: 's1' }, admin, true), { ok: true, body: { name: 'a', role: 'agent', org_id: 'acme', site_id: 's1' } });
  assert.deepEqual(tokenRequestOf({ name: 'm', role: 'member', org: '', site: '' }, GRANTABLE_ROLES['org-admin'], false), { ok: true, body: { name: 'm', role: 'member' } });
  assert.deepEqual(problems(tokenRequestOf({ name: 'x', role: 'admin', org: '', site: '' }, GRANTABLE_ROLES['org-admin'], false)), ['role'], 'an org-admin mints no admin');
  assert.deepEqual(problems(tokenRequestOf({ ...NEW_TOKEN_FORM, role: 'agent' }, admin, true)), ['name', 'org', 'site']);
  assert.deepEqual(problems(tokenRequestOf(NEW_TOKEN_FORM, admin, true)), ['name', 'org', 'role']);
  assert.deepEqual(GRANTABLE_ROLES.member, []);
});

test('the share policy: shown as it is, sent whole, each bad value named', () => {
  const share: ShareJson = { lend_fraction: 0.25, reclaim: true, reclaim_notice_s: 90, lend_to: ['beta'], max_gpus_per_borrower: null, borrower_gpu_limits: { beta: 4, gamma: 0 }, sandbox_borrowed: false, borrowed_network: 'host' };
  const form = shareFormOf(share);
  assert.deepEqual(form, { lendPercent: '25', reclaim: true, reclaimNoticeMinutes: '1.5', lendTo: 'listed', lendToOrgs: 'beta', maxPerBorrower: '', borrowerLimits: 'beta=4, gamma=0', sandboxBorrowed: false, borrowedNetwork: 'host' });
  assert.deepEqual(sharePatchOf(form), { ok: true, body: { share } }, 'what the form shows is what is sent back');
  assert.deepEqual(sharePatchOf(shareFormOf(site('a', 'acme', { h100: [1, 8] }).share)), {
    ok: true, body: { share: { lend_fraction: 1, reclaim: false, reclaim_notice_s: 0, lend_to: 'all', max_gpus_per_borrower: null, borrower_gpu_limits: {}, sandbox_borrowed: true, borrowed_network: 'none' } },
  });
  const bad = { ...form, lendPercent: '101', reclaimNoticeMinutes: '43201', lendToOrgs: 'beta beta', maxPerBorrower: '2.5', borrowerLimits: 'beta=4 beta=2' };
  assert.deepEqual(problems(sharePatchOf(bad)), ['borrowerLimits', 'lendPercent', 'lendToOrgs', 'maxPerBorrower', 'reclaimNoticeMinutes']);
  assert.deepEqual(problems(sharePatchOf({ ...form, lendToOrgs: ' ', borrowerLimits: 'beta:4' })), ['borrowerLimits', 'lendToOrgs'], 'listed orgs: at least one; a limit is org=GPUs');
  assert.deepEqual(problems(sharePatchOf({ ...form, lendTo: 'none', lendToOrgs: '' })), [], 'the list counts only when listing');
});

test('the API’s refusals land on the field they name, through arrays and objects; others on none', () => {
  assert.equal(formFieldOf('share.lend_to[1]', SHARE_API_FIELDS), 'lendToOrgs');
  assert.equal(formFieldOf('share.borrower_gpu_limits.gamm', SHARE_API_FIELDS), 'borrowerLimits');
  assert.equal(formFieldOf('share.reclaim', SHARE_API_FIELDS), null, 'not share.reclaim_notice_s: a prefix must end at a boundary');
  assert.equal(formFieldOf('capacity[0].gpus_per_node', SITE_API_FIELDS), 'gpusPerNode');
  assert.equal(formFieldOf('capacity', SITE_API_FIELDS), 'nodes', 'over the GPU quota');
  assert.equal(formFieldOf('org_id', TOKEN_API_FIELDS), 'org');
  assert.equal(formFieldOf('site_id', TOKEN_API_FIELDS), 'site');
  assert.equal(formFieldOf(undefined, TOKEN_API_FIELDS), null);
  assert.equal(formFieldOf('body', TOKEN_API_FIELDS), null);
});
