import { useEffect, useId, useRef, useState } from 'react';
import type { JobListItemJson, JobListJson } from '../api/types.ts';
import { StateBadge } from '../components/badges.tsx';
import { OrgOptions } from '../components/field.tsx';
import { describeError, LoadStatus, Page, ServerWords } from '../components/page.tsx';
import { Table, type Column, type TableSelection } from '../components/table.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { diagnosisText, siteText, STATE_LABEL } from '../i18n/labels.ts';
import { cancelEach, runTimeS, type CancelOutcome } from '../model/job-list.ts';
import { ACTIVE_STATES, isFinal, JOB_STATES } from '../model/job-states.ts';
import { Link, navigate, pathOf, type JobFilter } from '../router.tsx';
import { useSession } from '../session-context.tsx';
import { useOrgChoices } from '../use-org-choices.ts';
import { POLL_MS, usePolling } from '../use-polling.ts';
import { useSiteNames } from '../use-site-names.ts';

/** Jobs shown at first, and added by each "show more" (the API's largest page is 500). */
const PAGE = 50;
const MAX_SHOWN = 500;
/** The search is sent this long after the last key typed (Enter sends it at once). */
const SEARCH_DELAY_MS = 300;

/** The query string of GET /jobs for a filter, showing the newest `limit` jobs. */
export function jobListQuery(filter: JobFilter, limit: number): string {
  const query = new URLSearchParams();
  if (filter.state === 'active') query.set('state', ACTIVE_STATES.join(','));
  else if (filter.state !== 'all') query.set('state', filter.state);
  if (filter.org !== null) query.set('org', filter.org);
  if (filter.search !== '') query.set('q', filter.search);
  query.set('order', 'newest');
  query.set('limit', String(limit));
  return `/jobs?${query.toString()}`;
}

export function JobsView({ filter }: { readonly filter: JobFilter }) {
  const { t } = useI18n();
  const { client, identity } = useSession();
  const [shown, setShown] = useState(PAGE);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const query = jobListQuery(filter, shown);
  const polled = usePolling(query, (signal) => client.get<JobListJson>(query, signal), POLL_MS.list);
  const orgs = useOrgChoices(client, identity);
  const siteNames = useSiteNames(client);
  const setFilter = (next: JobFilter, replace = false) => {
    setShown(PAGE);
    navigate(pathOf({ page: 'jobs', filter: next }), { replace });
  };
  const jobs = polled.data?.jobs;
  // Only what is shown and can still be cancelled counts as chosen (a chosen job may have finished since).
  const chosen = (jobs ?? []).filter((j) => !isFinal(j.state) && selected.has(j.id)).map((j) => j.id);

  return (
    <Page
      title={t('jobs.title')}
      actions={
        <Link to={pathOf({ page: 'submit' })} className="button primary">
          {t('nav.submit')}
        </Link>
      }
    >
      <JobFilterForm filter={filter} orgs={orgs} onChange={setFilter} />
      <LoadStatus polled={polled} />
      {jobs === undefined ? null : (
        <>
          <BulkCancel
            ids={chosen}
            offered={jobs.some((j) => !isFinal(j.state))}
            onDone={(outcomes) => {
              setSelected(new Set(outcomes.filter((o) => !o.ok).map((o) => o.id)));
              polled.refresh();
            }}
          />
          <JobTable jobs={jobs} siteNames={siteNames} now={polled.updatedAt ?? 0} selection={{ selected, onChange: setSelected }} />
        </>
      )}
      {(polled.data?.next ?? null) !== null && shown < MAX_SHOWN ? (
        <div className="actions">
          <button type="button" onClick={() => setShown((n) => Math.min(MAX_SHOWN, n + PAGE))}>
            {t('jobs.showMore')}
          </button>
        </div>
      ) : null}
    </Page>
  );
}

function JobFilterForm({ filter, orgs, onChange }: { readonly filter: JobFilter; readonly orgs: readonly string[] | null; readonly onChange: (f: JobFilter, replace?: boolean) => void }) {
  const { t } = useI18n();
  const id = useId();
  const [text, setText] = useState(filter.search);
  // The search last sent: the URL catching up with it must not undo what was typed since.
  const sent = useRef(filter.search);
  useEffect(() => {
    if (filter.search === sent.current) return;
    sent.current = filter.search;
    setText(filter.search);
  }, [filter.search]);
  const search = (value: string) => {
    if (value === sent.current) return;
    sent.current = value;
    // Typing replaces the history entry: Back leaves the list, not one letter.
    onChange({ ...filter, search: value }, true);
  };
  useEffect(() => {
    const timer = setTimeout(() => search(text), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  });
  return (
    <form
      className="filters"
      role="search"
      aria-label={t('jobs.filters')}
      onSubmit={(e) => {
        e.preventDefault();
        search(text);
      }}
    >
      <div className="field inline search">
        <label htmlFor={`${id}-q`}>{t('jobs.search')}</label>
        <input id={`${id}-q`} type="search" value={text} maxLength={200} onChange={(e) => setText(e.target.value)} />
      </div>
      <div className="field inline">
        <label htmlFor={`${id}-state`}>{t('jobs.filterState')}</label>
        <select id={`${id}-state`} value={filter.state} onChange={(e) => onChange({ ...filter, state: e.target.value as JobFilter['state'] })}>
          <option value="all">{t('jobs.stateAll')}</option>
          <option value="active">{t('jobs.stateActive')}</option>
          {JOB_STATES.map((s) => (
            <option key={s} value={s}>
              {t(STATE_LABEL[s])}
            </option>
          ))}
        </select>
      </div>
      {orgs === null ? null : (
        <div className="field inline">
          <label htmlFor={`${id}-org`}>{t('jobs.filterOrg')}</label>
          <select id={`${id}-org`} value={filter.org ?? ''} onChange={(e) => onChange({ ...filter, org: e.target.value === '' ? null : e.target.value })}>
            <OrgOptions orgs={orgs} none={t('jobs.orgAll')} />
          </select>
        </div>
      )}
    </form>
  );
}

/**
 * The job list as a table, newest first (the API's order; the ID column says so), every
 * column but the diagnosis sortable. `now` (ms): what a running job's run time counts to.
 * With `selection`, each job not yet finished has a checkbox.
 */
export function JobTable({ jobs, siteNames, now, selection }: {
  readonly jobs: readonly JobListItemJson[];
  readonly siteNames: ReadonlyMap<string, string>;
  readonly now: number;
  readonly selection?: Pick<TableSelection<JobListItemJson>, 'selected' | 'onChange'>;
}) {
  const i18n = useI18n();
  const { t, format } = i18n;
  const time = (iso: string | null | undefined) => (iso === null || iso === undefined ? null : Date.parse(iso));
  const sites = (j: JobListItemJson) => [...new Set(j.last_placement?.parts.map((p) => siteText(i18n, p, siteNames, j.org_id)) ?? [])].join(', ');
  const columns: readonly Column<JobListItemJson>[] = [
    { header: t('jobs.id'), cell: (j) => <Link to={pathOf({ page: 'job', id: j.id })}>{j.id}</Link>, sortValue: (j) => Number(j.id) },
    { header: t('jobs.name'), cell: (j) => (j.name === '' ? <span className="muted">{t('jobs.unnamed')}</span> : j.name), sortValue: (j) => j.name },
    { header: t('common.org'), cell: (j) => j.org_id, sortValue: (j) => j.org_id },
    { header: t('jobs.user'), cell: (j) => j.submitted_by_name ?? <span className="muted">{t('jobs.byAdmin')}</span>, sortValue: (j) => j.submitted_by_name },
    { header: t('jobs.state'), cell: (j) => <StateBadge state={j.state} />, sortValue: (j) => JOB_STATES.indexOf(j.state) },
    { header: t('pool.gpus'), cell: (j) => format.count(j.gpus), numeric: true, sortValue: (j) => j.gpus },
    { header: t('jobs.gpuTypes'), cell: (j) => (j.gpu_types === null ? t('jobs.anyType') : j.gpu_types.join(', ')), sortValue: (j) => j.gpu_types?.join(', ') ?? null },
    { header: t('jobs.sites'), cell: (j) => sites(j) || '—', sortValue: (j) => sites(j) || null },
    { header: t('jobs.submitted'), cell: (j) => format.date(j.submitted_at), sortValue: (j) => time(j.submitted_at) },
    { header: t('jobs.start'), cell: (j) => (j.last_placement?.started_at == null ? '—' : format.date(j.last_placement.started_at)), sortValue: (j) => time(j.last_placement?.started_at) },
    { header: t('jobs.end'), cell: (j) => (j.last_placement?.ended_at == null ? '—' : format.date(j.last_placement.ended_at)), sortValue: (j) => time(j.last_placement?.ended_at) },
    { header: t('jobs.runTime'), cell: (j) => durationOrDash(format, runTimeS(j, now)), numeric: true, sortValue: (j) => runTimeS(j, now) },
    { header: t('jobs.estimate'), cell: (j) => format.duration(j.estimate_s), numeric: true, sortValue: (j) => j.estimate_s },
    { header: t('jobs.waitingBecause'), cell: (j) => (j.diagnosis === null ? null : diagnosisText(i18n, j.diagnosis)), className: 'diagnosis' },
  ];
  return (
    <Table<JobListItemJson>
      columns={columns}
      rows={jobs}
      rowKey={(j) => j.id}
      caption={t('jobs.caption')}
      empty={t('jobs.none')}
      dense
      sort={{ column: 0, direction: 'descending' }}
      scrollCue={t('jobs.scrollCue')}
      {...(selection === undefined ? {} : { selection: { ...selection, label: (j) => (isFinal(j.state) ? null : t('jobs.select', { id: j.id })), allLabel: t('jobs.selectAll') } })}
    />
  );
}

const durationOrDash = (format: { duration: (s: number) => string }, seconds: number | null) => (seconds === null ? '—' : format.duration(seconds));

/**
 * Cancels the chosen jobs after one confirmation on the page (as a job's own cancel
 * does), then says how many were cancelled and, per job, why one was not. The button is
 * `offered` while some job shown can be cancelled; the last report stays after that.
 */
function BulkCancel({ ids, offered, onDone }: { readonly ids: readonly string[]; readonly offered: boolean; readonly onDone: (outcomes: readonly CancelOutcome[]) => void }) {
  const i18n = useI18n();
  const { t, format } = i18n;
  const { client } = useSession();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcomes, setOutcomes] = useState<readonly CancelOutcome[] | null>(null);
  const cancel = async () => {
    setBusy(true);
    const done = await cancelEach(ids, (id) => client.post(`/jobs/${encodeURIComponent(id)}/cancel`));
    setBusy(false);
    setConfirming(false);
    setOutcomes(done);
    onDone(done);
  };
  const failed = outcomes?.filter((o) => !o.ok) ?? [];
  return (
    <div className="bulk">
      {confirming && ids.length > 0 ? (
        <div className="confirm" role="group" aria-labelledby="bulk-cancel-question">
          <span id="bulk-cancel-question">{t('jobs.cancelSelectedQuestion', { ids: ids.join(', ') })}</span>
          {/* The confirming button takes the focus, so Enter confirms and Tab reaches "keep them". */}
          <button type="button" className="danger" disabled={busy} onClick={() => void cancel()} autoFocus>
            {t('jobs.cancelSelectedYes')}
          </button>
          <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
            {t('jobs.cancelSelectedNo')}
          </button>
        </div>
      ) : !offered ? null : (
        <div className="actions">
          <button type="button" className="danger" disabled={ids.length === 0} onClick={() => setConfirming(true)}>
            {t('jobs.cancelSelected', { count: format.count(ids.length) })}
          </button>
        </div>
      )}
      {outcomes === null ? null : (
        <div role="status">
          <p>{t('jobs.cancelledCount', { count: format.count(outcomes.length - failed.length) })}</p>
        </div>
      )}
      {failed.length === 0 ? null : (
        <div className="note note-error" role="alert">
          <strong>{t('jobs.cancelFailedCount', { count: format.count(failed.length) })}</strong>
          <ul className="problems">
            {failed.map((o) => {
              const { headline, detail, detailLang } = describeError(i18n, o.ok ? undefined : o.error);
              return (
                <li key={o.id}>
                  {t('jobs.cancelFailedJob', { id: o.id, reason: headline })}
                  {detail === null ? null : <ServerWords text={detail} lang={detailLang} />}
                </li>
              );
            })}
          </ul>
        </div>
      )}
    </div>
  );
}
