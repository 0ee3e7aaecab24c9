import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathOf, routeOf, type Route } from './router.tsx';

test('every page has a path that leads back to it', () => {
  const routes: Route[] = [
    { page: 'pool' },
    { page: 'jobs', filter: { state: 'active', org: null, search: '' } },
    { page: 'jobs', filter: { state: 'running', org: 'acme', search: '' } },
    { page: 'jobs', filter: { state: 'all', org: null, search: 'render 50% & more' } },
    { page: 'jobs', filter: { state: 'all', org: null, search: '' } },
    { page: 'job', id: '42' },
    { page: 'job', id: 'a/b c' },
    { page: 'submit' },
    { page: 'submit', draft: true },
    { page: 'ledger' },
    { page: 'sites' },
    { page: 'site', id: 'acme-lab-0a1b2c3d' },
    { page: 'site', id: 'a/b c' },
    { page: 'admin', section: 'orgs' },
    { page: 'admin', section: 'sites' },
    { page: 'admin', section: 'tokens' },
    { page: 'plan' },
    { page: 'simulate' },
  ];
  for (const route of routes) {
    const url = new URL(pathOf(route), 'http://x');
    assert.deepEqual(routeOf(url.pathname, url.search), route, pathOf(route));
  }
});

test('unknown paths and filters fall back: a page says it is not found; a bad state is the default filter', () => {
  assert.deepEqual(routeOf('/nope'), { page: 'not-found', path: '/nope' });
  assert.deepEqual(routeOf('/jobs', '?state=bogus&org='), { page: 'jobs', filter: { state: 'all', org: null, search: '' } });
  assert.deepEqual(routeOf('/jobs/'), { page: 'jobs', filter: { state: 'all', org: null, search: '' } }, 'a trailing slash is the same page');
  assert.equal(pathOf({ page: 'jobs', filter: { state: 'all', org: null, search: '' } }), '/jobs', 'the default filter (every state) is not in the URL');
  assert.equal(pathOf({ page: 'jobs', filter: { state: 'active', org: null, search: '' } }), '/jobs?state=active', 'not finished is a choice');
});

test('/admin opens the tokens; an unknown admin page is not found', () => {
  assert.deepEqual(routeOf('/admin'), { page: 'admin', section: 'tokens' });
  assert.deepEqual(routeOf('/admin/keys'), { page: 'not-found', path: '/admin/keys' });
  assert.deepEqual(routeOf('/sites/x/y'), { page: 'not-found', path: '/sites/x/y' });
});
