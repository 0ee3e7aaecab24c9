import { useEffect, useState, type MouseEvent, type ReactNode } from 'react';
import type { JobState } from './api/types.ts';
import { isJobState } from './model/job-states.ts';

/**
 * The dashboard's pages as values, and the paths they live at. Paths are real
 * (/jobs/42, not #/jobs/42): the server answers every non-API path with the app
 * (src/server/dashboard.ts), so a link can be bookmarked, shared and reloaded.
 */
export type Route =
  | { readonly page: 'pool' }
  | { readonly page: 'jobs'; readonly filter: JobFilter }
  | { readonly page: 'job'; readonly id: string }
  /** `draft`: open the form as another page prepared it in this tab (the planner's "submit this plan"; submit-form.ts SUBMIT_DRAFT_KEY). */
  | { readonly page: 'submit'; readonly draft?: true }
  | { readonly page: 'ledger' }
  | { readonly page: 'sites' }
  | { readonly page: 'site'; readonly id: string }
  /** Managing the pool: orgs (the admin), sites and tokens (the admin and org-admins); `/admin` opens the tokens. */
  | { readonly page: 'admin'; readonly section: AdminSection }
  | { readonly page: 'plan' }
  | { readonly page: 'simulate' }
  | { readonly page: 'not-found'; readonly path: string };

export const ADMIN_SECTIONS = ['orgs', 'sites', 'tokens'] as const;
export type AdminSection = (typeof ADMIN_SECTIONS)[number];

/** The job list's filter, kept in the query string (`/jobs?state=running&org=acme&q=render`). */
export interface JobFilter {
  /** `active`: every state but the final ones; `all`: every state; else one state. */
  readonly state: 'active' | 'all' | JobState;
  /** An org id, or null for every org the caller sees. */
  readonly org: string | null;
  /** Jobs whose id or name holds this text (the API's `q`); empty: every job. */
  readonly search: string;
}

/**
 * Every state, newest first: what an operator opens the list for is what runs now and
 * what just ended (a run that failed a minute ago matters as much as one waiting), and
 * after a quiet spell, when every job has finished, "not finished" would show nothing.
 */
export const DEFAULT_JOB_FILTER: JobFilter = { state: 'all', org: null, search: '' };

export function routeOf(pathname: string, search = ''): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/') return { page: 'pool' };
  if (path === '/jobs') return { page: 'jobs', filter: filterOf(new URLSearchParams(search)) };
  if (path === '/jobs/new') return new URLSearchParams(search).has('draft') ? { page: 'submit', draft: true } : { page: 'submit' };
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  if (job !== null) return { page: 'job', id: decodeURIComponent(job[1] ?? '') };
  if (path === '/ledger') return { page: 'ledger' };
  if (path === '/sites') return { page: 'sites' };
  const site = /^\/sites\/([^/]+)$/.exec(path);
  if (site !== null) return { page: 'site', id: decodeURIComponent(site[1] ?? '') };
  if (path === '/admin') return { page: 'admin', section: 'tokens' };
  const admin = /^\/admin\/([a-z]+)$/.exec(path);
  const section = ADMIN_SECTIONS.find((x) => x === admin?.[1]);
  if (section !== undefined) return { page: 'admin', section };
  if (path === '/plan') return { page: 'plan' };
  if (path === '/simulate') return { page: 'simulate' };
  return { page: 'not-found', path };
}

function filterOf(params: URLSearchParams): JobFilter {
  const state = params.get('state');
  const org = params.get('org');
  return { state: isStateFilter(state) ? state : DEFAULT_JOB_FILTER.state, org: org === null || org === '' ? null : org, search: params.get('q') ?? '' };
}

function isStateFilter(value: string | null): value is JobFilter['state'] {
  return value === 'active' || value === 'all' || (value !== null && isJobState(value));
}

export function pathOf(route: Route): string {
  switch (route.page) {
    case 'pool':
      return '/';
    case 'jobs': {
      const params = new URLSearchParams();
      if (route.filter.state !== DEFAULT_JOB_FILTER.state) params.set('state', route.filter.state);
      if (route.filter.org !== null) params.set('org', route.filter.org);
      if (route.filter.search !== '') params.set('q', route.filter.search);
      const query = params.toString();
      return query === '' ? '/jobs' : `/jobs?${query}`;
    }
    case 'job':
      return `/jobs/${encodeURIComponent(route.id)}`;
    case 'submit':
      return route.draft === true ? '/jobs/new?draft' : '/jobs/new';
    case 'ledger':
      return '/ledger';
    case 'sites':
      return '/sites';
    case 'site':
      return `/sites/${encodeURIComponent(route.id)}`;
    case 'admin':
      return `/admin/${route.section}`;
    case 'plan':
      return '/plan';
    case 'simulate':
      return '/simulate';
    case 'not-found':
      return route.path;
  }
}

const NAVIGATED = 'suanli:navigated';

/** Goes to `path` within the app (history.pushState), as a link click does. */
export function navigate(path: string, options: { readonly replace?: boolean } = {}): void {
  if (options.replace === true) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.dispatchEvent(new Event(NAVIGATED));
}

/** The current route, following links, navigate() and the browser's back and forward buttons. */
export function useRoute(): Route {
  const read = () => routeOf(location.pathname, location.search);
  const [route, setRoute] = useState<Route>(read);
  useEffect(() => {
    const update = () => setRoute(read());
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATED, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATED, update);
    };
  }, []);
  return route;
}

/**
 * A link within the app: a real `<a href>` (keyboard, middle-click and "open in new
 * tab" work as on any page) whose plain click navigates without reloading.
 */
export function Link({ to, children, className, current }: { readonly to: string; readonly children: ReactNode; readonly className?: string; readonly current?: boolean }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={onClick} className={className} aria-current={current === true ? 'page' : undefined}>
      {children}
    </a>
  );
}
