import type { Role } from '../store/types.ts';
import { ApiError, notFound } from './errors.ts';

/**
 * Who may do what: the one table of operation × role (STYLE.md §13's "one place").
 * Every route names its operation; the auth hook refuses a role whose scope is
 * `null` (403 forbidden) before the handler runs, and handlers check the object
 * they load against the caller's scope with `Access.owns` — an object of another
 * org (or, for an agent, another site) is answered 404 as if it did not exist, so
 * that no org learns what another has.
 *
 * Scopes: `all` — any org's objects; `org` — the caller's org's; `site` — the
 * agent's own site only; `null` — not at all.
 */
export type Scope = 'all' | 'org' | 'site' | null;

export const PERMISSIONS = {
  'orgs.create': { admin: 'all', 'org-admin': null, member: null, agent: null },
  'orgs.list': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  'orgs.show': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  /** An org's quotas and what it uses of them: its own members may read them; only the pool's admin sets them. */
  'orgs.quota.show': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  'orgs.quota.update': { admin: 'all', 'org-admin': null, member: null, agent: null },
  'tokens.create': { admin: 'all', 'org-admin': 'org', member: null, agent: null },
  'tokens.list': { admin: 'all', 'org-admin': 'org', member: null, agent: null },
  'tokens.revoke': { admin: 'all', 'org-admin': 'org', member: null, agent: null },
  'sites.create': { admin: 'all', 'org-admin': 'org', member: null, agent: null },
  'sites.list': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  'sites.show': { admin: 'all', 'org-admin': 'org', member: 'org', agent: 'site' },
  'sites.update': { admin: 'all', 'org-admin': 'org', member: null, agent: null },
  /** The jobs on a site now: its org's members see them, another org's job there by its org only (see the sites route). */
  'sites.jobs': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  'sites.heartbeat': { admin: null, 'org-admin': null, member: null, agent: 'site' },
  /** The agent protocol (routes/agent.ts): always the agent's own site, the one its token is bound to. */
  'agent.heartbeat': { admin: null, 'org-admin': null, member: null, agent: 'site' },
  'agent.assignments': { admin: null, 'org-admin': null, member: null, agent: 'site' },
  'agent.report': { admin: null, 'org-admin': null, member: null, agent: 'site' },
  'jobs.submit': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  'jobs.list': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  'jobs.show': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  'jobs.cancel': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  'jobs.dry-run': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  /** Until agents report runs (the agent protocol), the admin moves jobs by hand; tests use it to exercise the ledger. */
  'jobs.set-state': { admin: 'all', 'org-admin': null, member: null, agent: null },
  /** Org callers get their own rows plus pool-wide aggregates (see the ledger route). */
  'ledger.show': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  /** The ledger per org over time: an org sees only its own points (no pool-wide series, see the ledger route). */
  'ledger.history': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  /** The jobs behind the ledger: an org sees the usage it consumed and the usage of its sites, other orgs' jobs by id only (see the ledger route). */
  'ledger.jobs': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  'plan.run': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  /** The usage log: checkpoints, proofs and keys for everyone who verifies; entries, an org its own (see the ledger route). */
  'ledger.log': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  /** Witnesses: any member registers its org's witness keys and revokes them; cosignatures are checked against a registered key, whoever posts them. */
  'ledger.witness.register': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  'ledger.witness.revoke': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  'ledger.cosign': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
  /** Every token may learn what it is (the dashboard shows and hides by role). */
  'tokens.whoami': { admin: 'all', 'org-admin': 'org', member: 'org', agent: 'site' },
  /** Pool-wide totals (by GPU type, by org, queues, history) for everyone the dashboard serves; site details only of the caller's org (see the pool route). */
  'pool.show': { admin: 'all', 'org-admin': 'org', member: 'org', agent: null },
} as const satisfies Record<string, Record<Role, Scope>>;

export type Operation = keyof typeof PERMISSIONS;
export const OPERATIONS = Object.keys(PERMISSIONS) as Operation[];

/** What each operation does, as a refusal says it: "a member token may not create sites". */
export const ACTIONS = {
  'orgs.create': 'create orgs',
  'orgs.list': 'list orgs',
  'orgs.show': 'show an org',
  'orgs.quota.show': "read an org's quotas",
  'orgs.quota.update': "set an org's quotas",
  'tokens.create': 'create tokens',
  'tokens.list': 'list tokens',
  'tokens.revoke': 'revoke tokens',
  'sites.create': 'create sites',
  'sites.list': 'list sites',
  'sites.show': 'show a site',
  'sites.update': 'change sites',
  'sites.jobs': 'list the jobs on a site',
  'sites.heartbeat': 'send heartbeats for a site',
  'agent.heartbeat': 'send agent heartbeats',
  'agent.assignments': 'fetch agent assignments',
  'agent.report': 'report on runs as an agent',
  'jobs.submit': 'submit jobs',
  'jobs.list': 'list jobs',
  'jobs.show': 'show a job',
  'jobs.cancel': 'cancel jobs',
  'jobs.dry-run': 'try jobs without submitting them',
  'jobs.set-state': "set a job's state by hand",
  'ledger.show': 'read the ledger',
  'ledger.history': "read the ledger's history",
  'ledger.jobs': 'read the jobs behind the ledger',
  'plan.run': 'run the planner',
  'ledger.log': 'read the usage log',
  'ledger.witness.register': 'register witness keys',
  'ledger.witness.revoke': 'revoke witness keys',
  'ledger.cosign': "cosign the usage log's checkpoints",
  'tokens.whoami': 'ask what it is',
  'pool.show': "read the pool's totals",
} as const satisfies Record<Operation, string>;

/** "an admin token", "a member token": how messages name a caller by role. */
export const roleToken = (role: Role): string => `${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role} token`;

/** Roles each role may hand out in a new token (org-admins cannot mint admins). */
export const GRANTABLE: Readonly<Record<Role, readonly Role[]>> = {
  admin: ['admin', 'org-admin', 'member', 'agent'],
  'org-admin': ['org-admin', 'member', 'agent'],
  member: [],
  agent: [],
};

/** The authenticated caller. */
export interface Principal {
  readonly tokenId: string;
  readonly role: Role;
  /** null only for admins. */
  readonly orgId: string | null;
  /** Set only for agents. */
  readonly siteId: string | null;
}

/** What one caller may reach for one operation; made by the auth hook, read by handlers. */
export class Access {
  readonly scope: Exclude<Scope, null>;

  constructor(readonly principal: Principal, readonly operation: Operation) {
    const scope = PERMISSIONS[operation][principal.role];
    if (scope === null) throw new ApiError('forbidden', `${roleToken(principal.role)} may not ${ACTIONS[operation]}`);
    this.scope = scope;
  }

  /**
   * The org a list is confined to: for the `all` scope the one asked for (or every
   * org), otherwise the caller's own. Asking for another org is the 404 of an org
   * the caller cannot see.
   */
  listOrg(requested: string | undefined): string | undefined {
    if (this.scope === 'all') return requested;
    const own = this.principal.orgId ?? '';
    if (requested !== undefined && requested !== own) throw notFound('org', requested);
    return own;
  }

  /**
   * Whether the caller may reach an object of `orgId` (and, for site-scoped
   * callers, of `siteId`). Use `require` to turn a miss into the 404 a stranger sees.
   */
  owns(orgId: string, siteId?: string): boolean {
    switch (this.scope) {
      case 'all':
        return true;
      case 'org':
        return orgId === this.principal.orgId;
      case 'site':
        return orgId === this.principal.orgId && siteId !== undefined && siteId === this.principal.siteId;
    }
  }

  /** The object itself when the caller may reach it; otherwise (or when it is null) a 404 naming `what` and `id`. */
  require<T>(what: string, id: string, object: T | null, owner: (o: T) => { orgId: string; siteId?: string }): T {
    if (object === null) throw notFound(what, id);
    const o = owner(object);
    if (!this.owns(o.orgId, o.siteId)) throw notFound(what, id);
    return object;
  }

  /** The org a new object goes to: an admin must name it; others create in their own org (see `listOrg`). */
  targetOrg(requested: string | undefined, field = 'org_id'): string {
    if (this.scope === 'all' && requested === undefined) throw new ApiError('invalid_request', `${field}: required for an admin token (which org?)`, { field });
    return this.listOrg(requested) ?? '';
  }
}
