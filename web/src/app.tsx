import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import type { Identity } from './api/identity.ts';
import { I18nProvider, useI18n } from './i18n/i18n-context.tsx';
import { isLocale, LOCALE_NAMES, LOCALES } from './i18n/i18n.ts';
import { ROLE_LABEL } from './i18n/labels.ts';
import { DEFAULT_JOB_FILTER, Link, pathOf, useRoute, type Route } from './router.tsx';
import { SUBMIT_DRAFT_KEY } from './model/submit-form.ts';
import { forgetToken, loadToken, saveToken, type SignedOutReason } from './session.ts';
import { SessionContext, type SignedIn } from './session-context.tsx';
import { signIn } from './sign-in.ts';
import { JobView } from './views/job-view.tsx';
import { JobsView } from './views/jobs-view.tsx';
import { LedgerView } from './views/ledger-view.tsx';
import { NotFoundView } from './views/not-found-view.tsx';
import { PlanView } from './views/plan-view.tsx';
import { PoolView } from './views/pool-view.tsx';
import { SignInView, type SignInProblem } from './views/sign-in-view.tsx';
import { SimulateView } from './views/simulate-view.tsx';
import { AdminView } from './views/admin-view.tsx';
import { SiteView } from './views/site-view.tsx';
import { SitesView } from './views/sites-view.tsx';
import { SubmitView } from './views/submit-view.tsx';

export function App() {
  return (
    <I18nProvider>
      <Shell />
    </I18nProvider>
  );
}

type SessionState =
  | { readonly status: 'signed-out'; readonly reason: SignedOutReason; readonly problem: SignInProblem | null }
  /** A token was kept in this tab (a reload): checking it again before showing anything. */
  | { readonly status: 'restoring'; readonly token: string }
  | { readonly status: 'signed-in'; readonly session: SignedIn };

/** The session: signing in and out, the token in sessionStorage, and back to sign-in at any 401. */
function useSessionState() {
  const [state, setState] = useState<SessionState>(() => {
    const token = loadToken(sessionStorage);
    return token === null ? { status: 'signed-out', reason: 'new', problem: null } : { status: 'restoring', token };
  });

  const end = useCallback((reason: SignedOutReason) => {
    forgetToken(sessionStorage);
    // A form another page prepared was this session's: the next one to sign in here starts without it.
    sessionStorage.removeItem(SUBMIT_DRAFT_KEY);
    setState({ status: 'signed-out', reason, problem: null });
  }, []);

  const start = useCallback(
    async (token: string) => {
      const result = await signIn(token, () => end('refused'));
      if (result.kind === 'signed-in') {
        saveToken(sessionStorage, token.trim());
        setState({ status: 'signed-in', session: result.session });
      } else {
        forgetToken(sessionStorage);
        setState({ status: 'signed-out', reason: 'new', problem: result });
      }
    },
    [end],
  );

  const restoring = state.status === 'restoring' ? state.token : null;
  useEffect(() => {
    if (restoring !== null) void start(restoring);
  }, [restoring, start]);

  return { state, start, end };
}

/** The navigation; `manages`: shown only to roles that manage something (the admin and org-admins, not members). */
const NAV: readonly { readonly route: Route; readonly label: 'nav.pool' | 'nav.jobs' | 'nav.submit' | 'nav.ledger' | 'nav.sites' | 'nav.plan' | 'nav.simulate' | 'nav.admin'; readonly pages: readonly Route['page'][]; readonly manages?: true }[] = [
  { route: { page: 'pool' }, label: 'nav.pool', pages: ['pool'] },
  { route: { page: 'jobs', filter: DEFAULT_JOB_FILTER }, label: 'nav.jobs', pages: ['jobs', 'job'] },
  { route: { page: 'submit' }, label: 'nav.submit', pages: ['submit'] },
  { route: { page: 'sites' }, label: 'nav.sites', pages: ['sites', 'site'] },
  { route: { page: 'ledger' }, label: 'nav.ledger', pages: ['ledger'] },
  { route: { page: 'plan' }, label: 'nav.plan', pages: ['plan'] },
  { route: { page: 'simulate' }, label: 'nav.simulate', pages: ['simulate'] },
  { route: { page: 'admin', section: 'tokens' }, label: 'nav.admin', pages: ['admin'], manages: true },
];

/** The navigation `identity` sees: a member manages nothing, so it is not offered the admin pages (the API would refuse it). */
export const navItems = (identity: Identity) => NAV.filter((item) => item.manages !== true || identity.role !== 'member');

function Shell() {
  const { t } = useI18n();
  const route = useRoute();
  const { state, start, end } = useSessionState();
  const signedIn = state.status === 'signed-in' ? state.session : null;

  return (
    <>
      <a className="skip-link" href="#main">
        {t('nav.skip')}
      </a>
      <header className="app-header">
        <span className="brand">{t('app.name')}</span>
        <HeaderMenu path={pathOf(route)}>
          {signedIn === null ? null : (
            <nav aria-label={t('nav.label')}>
              <ul>
                {navItems(signedIn.identity).map((item) => (
                  <li key={item.label}>
                    <Link to={pathOf(item.route)} current={item.pages.includes(route.page)}>
                      {t(item.label)}
                    </Link>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          <div className="header-tools">
            {signedIn === null ? null : <WhoAmI identity={signedIn.identity} />}
            <LanguageSwitch />
            {signedIn === null ? null : (
              <button type="button" onClick={() => end('signed-out')}>
                {t('nav.signOut')}
              </button>
            )}
          </div>
        </HeaderMenu>
      </header>
      <main id="main" tabIndex={-1}>
        {state.status === 'restoring' ? <p role="status">{t('signIn.restoring')}</p> : null}
        {state.status === 'signed-out' ? <SignInView reason={state.reason} problem={state.problem} onSubmit={start} /> : null}
        {signedIn === null ? null : (
          <SessionContext.Provider value={signedIn}>
            <RouteView key={pageKey(route)} route={route} />
          </SessionContext.Provider>
        )}
      </main>
    </>
  );
}

/**
 * What makes a page a new page: another view, or another job. A new page mounts
 * afresh (its heading takes the focus, its data starts empty); a new filter of the
 * same list does not, so the control being used keeps the focus.
 */
const pageKey = (route: Route): string => (route.page === 'job' || route.page === 'site' ? `${route.page}/${route.id}` : route.page === 'admin' ? `admin/${route.section}` : route.page);

function RouteView({ route }: { readonly route: Route }) {
  switch (route.page) {
    case 'pool':
      return <PoolView />;
    case 'jobs':
      return <JobsView filter={route.filter} />;
    case 'job':
      return <JobView id={route.id} />;
    case 'submit':
      return <SubmitView draft={route.draft === true} />;
    case 'ledger':
      return <LedgerView />;
    case 'sites':
      return <SitesView />;
    case 'site':
      return <SiteView id={route.id} />;
    case 'admin':
      return <AdminView section={route.section} />;
    case 'plan':
      return <PlanView />;
    case 'simulate':
      return <SimulateView />;
    case 'not-found':
      return <NotFoundView path={route.path} />;
  }
}

/**
 * The header's navigation and tools. On a narrow screen (styles.css) they fold behind a
 * "Menu" button (aria-expanded says whether they show): Enter or Space opens them and Tab
 * goes on into them; Escape closes them and gives the focus back to the button, and so
 * does going to another page (which then focuses its heading). On a wide screen the
 * button is not shown and they always are.
 */
function HeaderMenu({ path, children }: { readonly path: string; readonly children: ReactNode }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => setOpen(false), [path]);
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== 'Escape' || !open) return;
    setOpen(false);
    button.current?.focus();
  };
  return (
    <div className="header-menu" onKeyDown={onKeyDown}>
      <button ref={button} type="button" className="menu-button" aria-expanded={open} aria-controls="header-menu" onClick={() => setOpen((o) => !o)}>
        <span aria-hidden="true">☰</span> {t('nav.menu')}
      </button>
      <div id="header-menu" className={open ? 'menu-items open' : 'menu-items'}>
        {children}
      </div>
    </div>
  );
}

function WhoAmI({ identity }: { readonly identity: Identity }) {
  const { t } = useI18n();
  const role = t(ROLE_LABEL[identity.role]);
  return <span className="whoami">{identity.orgId === null ? t('nav.signedInAs', { role }) : t('nav.signedInAsOf', { role, org: identity.orgId })}</span>;
}

/** The language switch: every string changes at once, and the choice is remembered (localStorage). */
function LanguageSwitch() {
  const { t, locale, setLocale } = useI18n();
  return (
    <div className="language-switch">
      <label htmlFor="language">{t('nav.language')}</label>
      <select
        id="language"
        value={locale}
        onChange={(e) => {
          if (isLocale(e.target.value)) setLocale(e.target.value);
        }}
      >
        {LOCALES.map((l) => (
          <option key={l} value={l} lang={l}>
            {LOCALE_NAMES[l]}
          </option>
        ))}
      </select>
    </div>
  );
}
