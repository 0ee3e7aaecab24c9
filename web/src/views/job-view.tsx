import { useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { JobDetailJson, JobEventJson, JobJson, PlacementJson, SiteLogJson } from '../api/types.ts';
import { StateBadge } from '../components/badges.tsx';
import { timelineSpec } from '../components/chart-specs.ts';
import { Fact } from '../components/facts.tsx';
import { ErrorNote, LoadStatus, Page, ServerWords } from '../components/page.tsx';
import { Table, type Column } from '../components/table.tsx';
import { VegaChart } from '../components/vega-chart.tsx';
import { useI18n, type I18n } from '../i18n/i18n-context.tsx';
import { diagnosisText, eventDetailText, eventLabel, placementText, siteText, STATE_LABEL } from '../i18n/labels.ts';
import { jobTimeline, stretchPhases, type TimelineRow } from '../model/job-timeline.ts';
import { newIdempotencyKey, resubmitBody } from '../model/job-list.ts';
import { isFinal } from '../model/job-states.ts';
import { formOfJob, shellLine, spanningMightHelp } from '../model/submit-form.ts';
import { currentPlacement } from '../model/pool-usage.ts';
import { navigate, pathOf } from '../router.tsx';
import { useSession } from '../session-context.tsx';
import { POLL_MS, usePolling } from '../use-polling.ts';
import { useSiteNames } from '../use-site-names.ts';
import { openSubmitDraft } from './submit-view.tsx';

/** One job: its spec, where it runs or why it waits, its placements, the end of its log, its history; cancelling it, and submitting a copy. */
export function JobView({ id }: { readonly id: string }) {
  const { t } = useI18n();
  const { client } = useSession();
  const path = `/jobs/${encodeURIComponent(id)}`;
  const polled = usePolling(path, (signal) => client.get<JobDetailJson>(path, signal), POLL_MS.detail);
  const job = polled.data;
  const siteNames = useSiteNames(client);
  const title = job === undefined || job.name === '' ? t('job.title', { id }) : t('job.titleNamed', { id, name: job.name });
  return (
    <Page
      title={title}
      actions={
        job === undefined ? null : (
          <>
            <ResubmitControl job={job} />
            {isFinal(job.state) ? null : <CancelControl id={id} onCancelled={polled.refresh} />}
          </>
        )
      }
    >
      <LoadStatus polled={polled} />
      {job === undefined ? null : <JobDetail job={job} siteNames={siteNames} now={polled.updatedAt ?? Date.parse(job.updated_at)} />}
    </Page>
  );
}

/**
 * The job's page body, from its detail (and the names of the sites it may name): what the tests render. `now` (ms):
 * where the timeline's stretches still going end (default: the job's last change).
 */
export function JobDetail({ job, siteNames, now = Date.parse(job.updated_at) }: { readonly job: JobDetailJson; readonly siteNames: ReadonlyMap<string, string>; readonly now?: number }) {
  const i18n = useI18n();
  const { t, format } = i18n;
  // The newest attempt's logs, a site each: the run going on, or the last one.
  const latest = [...job.placements].sort((a, b) => b.attempt - a.attempt)[0];
  const placementColumns: readonly Column<PlacementJson>[] = [
    { header: t('job.attempt'), cell: (p) => format.count(p.attempt) },
    { header: t('job.where'), cell: (p) => placementText(i18n, p.parts, siteNames, job.org_id) },
    { header: t('job.placedAt'), cell: (p) => format.date(p.placed_at) },
    { header: t('job.startedAt'), cell: (p) => (p.started_at === null ? '—' : format.date(p.started_at)) },
    { header: t('job.endedAt'), cell: (p) => (p.ended_at === null ? '—' : format.date(p.ended_at)) },
    // What the scheduler planned for an attempt across sites; columns only for a job that has had one.
    ...(job.placements.some((p) => p.planned !== null)
      ? [
          { header: t('job.plannedEfficiency'), cell: (p: PlacementJson) => (p.planned === null ? '—' : format.percentOf(p.planned.efficiency)), numeric: true },
          { header: t('job.plannedWan'), cell: (p: PlacementJson) => (p.planned === null ? '—' : t('job.gbps', { gbps: format.significant(p.planned.wan_gbps) })), numeric: true },
        ]
      : []),
  ];
  const eventColumns: readonly Column<JobEventJson>[] = [
    { header: '#', cell: (e) => format.count(e.seq), numeric: true },
    { header: t('job.eventAt'), cell: (e) => format.date(e.at) },
    // A type the dashboard does not know yet shows as its code.
    { header: t('job.eventType'), cell: (e) => (eventDetailText(i18n, e, siteNames) === null ? <code>{e.type}</code> : eventLabel(i18n, e.type)) },
    // An event that changes no state (a part started, a new membership) shows none, not "Placed → Placed".
    { header: t('job.eventChange'), cell: (e) => (e.to_state === null || e.from_state === e.to_state ? '—' : `${e.from_state === null ? '' : `${t(STATE_LABEL[e.from_state])} → `}${t(STATE_LABEL[e.to_state])}`) },
    { header: t('job.eventDetail'), cell: (e) => <EventDetail event={e} siteNames={siteNames} />, className: 'detail' },
  ];
  return (
    <>
      <dl className="facts">
        <Fact label={t('jobs.state')}>
          <StateBadge state={job.state} />
        </Fact>
        <Fact label={t('common.org')}>{job.org_id}</Fact>
        <Fact label={t('jobs.submitted')}>{format.date(job.submitted_at)}</Fact>
        <Fact label={t('job.updated')}>{format.date(job.updated_at)}</Fact>
        <Fact label={t('job.attempts')}>{format.count(job.attempts)}</Fact>
        {/* A finished job says where it ran last, not that it runs nowhere. */}
        {isFinal(job.state) && latest !== undefined ? (
          <Fact label={t('job.ranOn')}>{placementText(i18n, latest.parts, siteNames, job.org_id)}</Fact>
        ) : (
          <Fact label={t('job.runsOn')}>{placementText(i18n, currentPlacement(job)?.parts, siteNames, job.org_id)}</Fact>
        )}
      </dl>

      {job.diagnosis === null ? null : (
        <section className="note note-wait" aria-labelledby="job-waits">
          <h2 id="job-waits">{t('job.whyWaiting')}</h2>
          <p>{diagnosisText(i18n, job.diagnosis)}</p>
          {/* The scheduler's own sentence (English), beside a translation. */}
          {i18n.locale === 'en' ? null : (
            <p>
              <ServerWords text={job.diagnosis.message} lang="en" />
            </p>
          )}
          {job.diagnosis.never ? <p>{t('job.neverHint')}</p> : null}
          {job.span === null && !isFinal(job.state) && spanningMightHelp(job.diagnosis) ? (
            <>
              <p>{t('job.spanCopyHelp')}</p>
              <button type="button" onClick={() => openSubmitDraft(formOfJob(job))}>
                {t('job.spanCopy')}
              </button>
            </>
          ) : null}
        </section>
      )}

      <h2>{t('job.spec')}</h2>
      <JobSpec job={job} measured={job.measured} />

      <JobTimeline job={job} siteNames={siteNames} now={now} />

      <h2>{t('job.placements')}</h2>
      <Table columns={placementColumns} rows={job.placements} rowKey={(p) => p.attempt} empty={t('job.noPlacements')} scrollCue={t('common.scrollCue')} />

      <h2 id="job-log">{t('job.log')}</h2>
      {latest === undefined || latest.logs.length === 0 ? (
        <p className="empty">{t('job.noLog')}</p>
      ) : (
        <>
          {isFinal(job.state) ? null : <p className="muted">{t('job.logFollow')}</p>}
          {latest.logs.map((log, i) => (
            <SiteLog key={log.site_id} id={`job-log-${i}`} log={log} attempt={latest.attempt} site={siteText(i18n, log, siteNames, job.org_id)} />
          ))}
        </>
      )}

      <h2>{t('job.events')}</h2>
      <Table columns={eventColumns} rows={job.events} rowKey={(e) => e.seq} scrollCue={t('common.scrollCue')} />
    </>
  );
}

/** `measured`: a spanning job's latest attempt as its parts measured it (job detail only). */
function JobSpec({ job, measured = null }: { readonly job: JobDetailJson; readonly measured?: JobDetailJson['measured'] }) {
  const { t, format } = useI18n();
  const yesNo = (b: boolean) => (b ? t('common.yes') : t('common.no'));
  return (
    <>
      <dl className="facts">
        <Fact label={t('pool.gpus')}>{format.count(job.gpus)}</Fact>
        <Fact label={t('jobs.gpuTypes')}>{job.gpu_types === null ? t('jobs.anyType') : job.gpu_types.join(', ')}</Fact>
        <Fact label={t('job.gang')}>{yesNo(job.gang)}</Fact>
        <Fact label={t('jobs.estimate')}>{format.duration(job.estimate_s)}</Fact>
        <Fact label={t('job.priority')}>{format.count(job.priority)}</Fact>
        <Fact label={t('job.preemptible')}>{yesNo(job.preemptible)}</Fact>
        <Fact label={t('job.checkpoint')}>{job.checkpoint_interval_s === null ? '—' : format.duration(job.checkpoint_interval_s)}</Fact>
        <Fact label={t('job.retries')}>{format.count(job.max_retries)}</Fact>
        <Fact label={t('job.span')}>
          {job.span === null
            ? t('common.no')
            : t('job.spanValue', {
                replica: format.count(job.span.replica_gpus), min: format.percentOf(job.span.min_efficiency), bytes: format.bytes(job.span.sync_bytes),
                outer: format.duration(job.span.outer_step_s), wait: format.duration(job.span.max_single_site_wait_s),
              })}
        </Fact>
        {measured === null ? null : (
          <Fact label={t('job.measured')}>
            {t('job.measuredValue', {
              steps: format.count(measured.outer_steps), attempt: format.count(measured.attempt), utilization: format.percentOf(measured.utilization),
              planned: measured.planned_utilization === null ? '—' : format.percentOf(measured.planned_utilization),
              loss: measured.first_loss === null || measured.last_loss === null ? '—' : `${measured.first_loss.toPrecision(3)} → ${measured.last_loss.toPrecision(3)}`,
              compute: format.duration(measured.per_outer_step.compute_s), sync: format.duration(measured.per_outer_step.sync_s), wait: format.duration(measured.per_outer_step.wait_s),
            })}
          </Fact>
        )}
        <Fact label={t('job.command')}>{job.command === null ? '—' : <code>{shellLine(job.command)}</code>}</Fact>
        {/* The token's name; the pool admin's tokens are named to the admin only (the id stays, to tell tokens apart). */}
        <Fact label={t('job.submittedBy')}>{t('job.submittedByToken', { name: job.submitted_by_name ?? t('jobs.byAdmin'), id: job.submitted_by })}</Fact>
      </dl>
      {job.plan === null ? null : (
        <details>
          <summary>{t('job.plan')}</summary>
          <pre className="json" tabIndex={0}>
            {JSON.stringify(job.plan, null, 2)}
          </pre>
        </details>
      )}
    </>
  );
}

/** An event's detail in words; one of a type this dashboard does not know yet, as the JSON it came as. */
function EventDetail({ event, siteNames }: { readonly event: JobEventJson; readonly siteNames: ReadonlyMap<string, string> }) {
  const i18n = useI18n();
  const words = eventDetailText(i18n, event, siteNames);
  if (words !== null) return words === '' ? null : <>{words}</>;
  return Object.keys(event.detail).length === 0 ? null : <code>{compactJson(event.detail)}</code>;
}

/** A timeline row's name: the queue, an attempt, or an attempt's part on a site (with the org lending it). */
function rowLabel(i18n: I18n, row: TimelineRow, siteNames: ReadonlyMap<string, string>, orgId: string): string {
  const { t, format } = i18n;
  const attempt = format.count(row.attempt);
  if (row.site !== null) return t('job.timelinePart', { attempt, site: row.site.lender_org_id === '' ? (siteNames.get(row.site.site_id) ?? row.site.site_id) : siteText(i18n, row.site, siteNames, orgId) });
  return row.kind === 'queue' ? t('job.timelineQueue') : t('job.timelineAttempt', { attempt });
}

/**
 * The job's timeline (model/job-timeline.ts): a Gantt chart of the queue, each attempt and each of its parts, with
 * its events as marks; and the same as a table, which is what a screen reader reads.
 */
function JobTimeline({ job, siteNames, now }: { readonly job: JobDetailJson; readonly siteNames: ReadonlyMap<string, string>; readonly now: number }) {
  const i18n = useI18n();
  const { t, format } = i18n;
  const rows = useMemo(() => jobTimeline(job), [job]);
  const iso = (ms: number | null) => (ms === null ? '—' : format.date(new Date(ms).toISOString()));
  const spec = useMemo(
    () =>
      timelineSpec(
        rows.map((r) => ({
          label: rowLabel(i18n, r, siteNames, job.org_id),
          bars: r.stretches.flatMap((s) => stretchPhases(r.kind, s, now)),
          marks: r.events.map((e) => ({ at: Date.parse(e.at), event: eventLabel(i18n, e.type), detail: eventDetailText(i18n, e, siteNames) ?? compactJson(e.detail) })),
        })),
        { time: t('job.timelineTime'), queued: t('job.phaseQueued'), placed: t('job.phasePlaced'), running: t('job.phaseRunning'), event: t('job.eventType'), detail: t('job.eventDetail') },
        t('job.timelineDescription'),
      ),
    [rows, i18n, siteNames, job.org_id, now, t],
  );
  if (rows.length === 0) return null;
  const stretches = (r: TimelineRow, cell: (s: TimelineRow['stretches'][number]) => string) => r.stretches.map((s, i) => <div key={i}>{cell(s)}</div>);
  const columns: readonly Column<TimelineRow>[] = [
    { header: t('job.timelineRow'), cell: (r) => rowLabel(i18n, r, siteNames, job.org_id) },
    { header: t('job.timelineFrom'), cell: (r) => stretches(r, (s) => iso(s.from)) },
    { header: t('job.startedAt'), cell: (r) => (r.kind === 'queue' ? '—' : stretches(r, (s) => iso(s.startedAt))) },
    { header: t('job.timelineUntil'), cell: (r) => stretches(r, (s) => (s.to === null ? t('job.timelineNow') : iso(s.to))) },
    {
      header: t('job.timelineEvents'),
      cell: (r) => (r.events.length === 0 ? '—' : r.events.map((e) => t('job.timelineEvent', { event: eventLabel(i18n, e.type), time: format.timeOfDay(Date.parse(e.at)) })).join(t('job.detailSeparator'))),
      className: 'detail',
    },
  ];
  return (
    <section aria-labelledby="job-timeline">
      <h2 id="job-timeline">{t('job.timeline')}</h2>
      <VegaChart spec={spec} title={t('job.timelineTitle')} />
      <Table columns={columns} rows={rows} rowKey={(r) => r.key} caption={t('job.timelineTitle')} dense />
    </section>
  );
}

/**
 * One site's log tail of an attempt, saying whose it is. While the reader is at its end (as it opens), it stays there
 * as new lines come with each poll; scrolled up to read, it stays put.
 */
function SiteLog({ id, log, attempt, site }: { readonly id: string; readonly log: SiteLogJson; readonly attempt: number; readonly site: string }) {
  const { t, format } = useI18n();
  const pre = useRef<HTMLPreElement>(null);
  const atEnd = useRef(true);
  useLayoutEffect(() => {
    const el = pre.current;
    if (el !== null && atEnd.current) el.scrollTop = el.scrollHeight;
  }, [log.log_tail]);
  return (
    <section aria-labelledby={id} className="site-log">
      <h3 id={id}>{t('job.logOf', { site })}</h3>
      <p className="muted">{t('job.logAt', { attempt: format.count(attempt), time: format.date(log.log_at) })}</p>
      {/* Focusable so that the keyboard can scroll it. */}
      <pre
        ref={pre}
        className="log"
        tabIndex={0}
        aria-labelledby={id}
        onScroll={(e) => {
          const el = e.currentTarget;
          atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
        }}
      >
        {log.log_tail}
      </pre>
    </section>
  );
}

/** An event's detail as compact JSON, for reading: what a type this dashboard does not know yet shows. */
function compactJson(detail: Readonly<Record<string, unknown>>): string {
  // Measured and planned figures carry float noise (0.9500000000000001): four significant digits say as much.
  const text = JSON.stringify(detail, (_key, value: unknown) => (typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(4)) : value));
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** Cancelling asks once more on the page itself (a second button, focused), not in a browser dialog. */
function CancelControl({ id, onCancelled }: { readonly id: string; readonly onCancelled: () => void }) {
  const { t } = useI18n();
  const { client } = useSession();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const cancel = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await client.post(`/jobs/${encodeURIComponent(id)}/cancel`);
      setConfirming(false);
      onCancelled();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (!confirming) {
    return (
      <button type="button" className="danger" onClick={() => setConfirming(true)}>
        {t('job.cancel')}
      </button>
    );
  }
  return (
    <div className="confirm" role="group" aria-labelledby="cancel-question">
      <span id="cancel-question">{t('job.cancelQuestion')}</span>
      {/* The confirming button takes the focus, so Enter confirms and Tab reaches "keep it". */}
      <button type="button" className="danger" disabled={busy} onClick={() => void cancel()} autoFocus>
        {t('job.cancelYes')}
      </button>
      <button type="button" onClick={() => setConfirming(false)}>
        {t('job.cancelNo')}
      </button>
      {error === undefined ? null : <ErrorNote error={error} />}
    </div>
  );
}

/**
 * Submits the job's spec again as a new job and opens it. One Idempotency-Key per copy:
 * a retry after a failed answer (the copy may have been made) sends the same key and gets
 * that copy, not a second; once a copy is made, the next one gets a new key.
 */
function ResubmitControl({ job }: { readonly job: JobJson }) {
  const { t } = useI18n();
  const { client } = useSession();
  const key = useRef<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const resubmit = async () => {
    setBusy(true);
    setError(undefined);
    key.current ??= newIdempotencyKey();
    try {
      const copy = await client.post<JobJson>('/jobs', resubmitBody(job), { idempotencyKey: key.current });
      key.current = null;
      navigate(pathOf({ page: 'job', id: copy.id }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" disabled={busy} onClick={() => void resubmit()}>
        {t('job.resubmit')}
      </button>
      {error === undefined ? null : <ErrorNote error={error} />}
    </>
  );
}
