import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROLES, type Role } from '../store/types.ts';
import { Access, OPERATIONS, PERMISSIONS, type Operation } from './permissions.ts';

const principal = (role: Role) => ({ tokenId: 't', role, orgId: role === 'admin' ? null : 'acme', siteId: role === 'agent' ? 'site' : null });

/** The message of the 403 a `role` token gets for `operation` (undefined: it is let through). */
function refusal(role: Role, operation: Operation): string | undefined {
  try {
    new Access(principal(role), operation);
    return undefined;
  } catch (err) {
    assert.equal((err as { code?: unknown }).code, 'forbidden');
    return (err as Error).message;
  }
}

test('a refusal says in words what the token may not do', () => {
  assert.equal(refusal('member', 'sites.create'), 'a member token may not create sites');
  assert.equal(refusal('agent', 'orgs.list'), 'an agent token may not list orgs');
  assert.equal(refusal('org-admin', 'orgs.create'), 'an org-admin token may not create orgs');
  assert.equal(refusal('admin', 'sites.heartbeat'), 'an admin token may not send heartbeats for a site');
  assert.equal(refusal('member', 'jobs.set-state'), "a member token may not set a job's state by hand");
  assert.equal(refusal('member', 'ledger.show'), undefined);
});

test('every refusal of every operation reads as a sentence, never naming the operation id', () => {
  for (const operation of OPERATIONS) {
    for (const role of ROLES) {
      const message = refusal(role, operation);
      assert.equal(message === undefined, PERMISSIONS[operation][role] !== null, `${role} × ${operation}`);
      if (message === undefined) continue;
      assert.match(message, new RegExp(`^an? ${role} token may not [a-z][a-z' ]+[a-z]$`), `${role} × ${operation}`);
      assert.ok(!message.includes(operation), `${message}: names ${operation}`);
    }
  }
});
