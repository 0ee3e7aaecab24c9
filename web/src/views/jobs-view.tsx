import { useId, useState } from 'react';
import type { JobJson, JobListJson } from '../api/types.ts';
import { StateBadge } from '../components/badges.tsx';
import { OrgOptions } from '../components/field.tsx';
import { LoadStatus, Page } from '../components/page.tsx';
import { Table, type Column } from '../components/table.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { diagnosisText, STATE_LABEL } from '../i18n/labels.ts';
import { ACTIVE_STATES, JOB_STATES } from '../model/job-states.ts';
import { Link, navigate, pathOf, type JobFilter } from '../router.tsx';
import { useSession } from '../session-context.tsx';
import { useOrgChoices } from '../use-org-choices.ts';
import { POLL_MS, usePolling } from '../use-polling.ts';

/** Jobs shown at first, and added by each "show more" (the API's largest page is 500). */
const PAGE = 50;
const MAX_SHOWN = 500;

/** The query string of GET /jobs for a filter, showing `limit` jobs. */
export function jobListQuery(filter: JobFilter, limit: number): string {
  const query = new URLSearchParams();
  if (filter.state === 'active') query.set('state', ACTIVE_STATES.join(','));
  else if (filter.state !== 'all') query.set('state', filter.state);
  if (filter.org !== null) query.set('org', filter.org);
  query.set('limit', String(limit));
  return `/jobs?${query.toString()}`;
}

export function JobsView({ filter }: { readonly filter: JobFilter }) {
  const { t } = useI18n();
  const { client, identity } = useSession();
  const [shown, setShown] = useState(PAGE);
  const query = jobListQuery(filter, shown);
  const polled = usePolling(query, (signal) => client.get<JobListJson>(query, signal), POLL_MS.list);
  const orgs = useOrgChoices(client, identity);
  const setFilter = (next: JobFilter) => {
    setShown(PAGE);
    navigate(pathOf({ page: 'jobs', filter: next }));
  };

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
      {polled.data === undefined ? null : <JobTable jobs={polled.data.jobs} />}
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

function JobFilterForm({ filter, orgs, onChange }: { readonly filter: JobFilter; readonly orgs: readonly string[] | null; readonly onChange: (f: JobFilter) => void }) {
  const { t } = useI18n();
  const id = useId();
  return (
    <form className="filters" role="search" aria-label={t('jobs.filters')} onSubmit={(e) => e.preventDefault()}>
      <div className="field inline">
        <label htmlFor={`${id}-state`}>{t('jobs.filterState')}</label>
        <select id={`${id}-state`} value={filter.state} onChange={(e) => onChange({ ...filter, state: e.target.value as JobFilter['state'] })}>
          <option value="active">{t('jobs.stateActive')}</option>
          <option value="all">{t('jobs.stateAll')}</option>
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

/** The job list as a table, oldest first (the API's order). */
export function JobTable({ jobs }: { readonly jobs: readonly JobJson[] }) {
  const i18n = useI18n();
  const { t, format } = i18n;
  const columns: readonly Column<JobJson>[] = [
    { header: t('jobs.id'), cell: (j) => <Link to={pathOf({ page: 'job', id: j.id })}>{j.id}</Link> },
    { header: t('jobs.name'), cell: (j) => (j.name === '' ? <span className="muted">{t('jobs.unnamed')}</span> : j.name) },
    { header: t('common.org'), cell: (j) => j.org_id },
    { header: t('jobs.state'), cell: (j) => <StateBadge state={j.state} /> },
    { header: t('pool.gpus'), cell: (j) => format.count(j.gpus), numeric: true },
    { header: t('jobs.gpuTypes'), cell: (j) => (j.gpu_types === null ? t('jobs.anyType') : j.gpu_types.join(', ')) },
    { header: t('jobs.estimate'), cell: (j) => format.duration(j.estimate_s), numeric: true },
    { header: t('jobs.submitted'), cell: (j) => format.date(j.submitted_at) },
    { header: t('jobs.waitingBecause'), cell: (j) => (j.diagnosis === null ? null : diagnosisText(i18n, j.diagnosis)), className: 'diagnosis' },
  ];
  return <Table columns={columns} rows={jobs} rowKey={(j) => j.id} caption={t('jobs.caption')} empty={t('jobs.none')} />;
}
