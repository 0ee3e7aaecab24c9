import type { JobDetailJson, JobEventJson } from '../api/types.ts';

/**
 * A job's history as a timeline: a row for its time in the queue, a row per attempt, and under it a row per site of
 * that attempt (its part there, the sites that left it included), each with its stretches of time and the events that
 * happened on it. What the timeline chart draws and the table beside it lists. Times are epoch milliseconds.
 */
export interface TimelineRow {
  readonly key: string;
  /** The queue's row, an attempt's, or one site's part of an attempt. */
  readonly kind: 'queue' | 'attempt' | 'part';
  /** The attempt (0 for the queue). */
  readonly attempt: number;
  /** A part's site (another org's by its neutral label) and the org lending it ('' when not known: a site that left before it sent a log). */
  readonly site: { readonly site_id: string; readonly lender_org_id: string } | null;
  readonly stretches: readonly TimelineStretch[];
  readonly events: readonly JobEventJson[];
}

/** A stretch of a row: from `from` to `to` (null: still going, drawn up to now), running from `startedAt` (null: not started in it). */
export interface TimelineStretch {
  readonly from: number;
  readonly startedAt: number | null;
  readonly to: number | null;
}

/**
 * The rows, in order: the queue, then each attempt followed by its parts (the placement's sites in their order, then
 * those that left it). An event goes to the queue's row when it moves the job into or out of the queue other than by
 * placing it (submitted, requeued, a cancel while pending); to a part's row when its detail names that site of the
 * attempt (`site`); else to its attempt's row. The n-th `placed` event opens attempt n.
 */
export function jobTimeline(job: Pick<JobDetailJson, 'placements' | 'events'>): TimelineRow[] {
  const ms = (iso: string) => Date.parse(iso);
  const queue: TimelineStretch[] = [];
  const queueEvents: JobEventJson[] = [];
  const byAttempt = new Map<number, JobEventJson[]>();
  let attempt = 0;
  let queuedSince: number | null = null;
  for (const e of job.events) {
    if (e.type === 'placed') attempt++;
    const intoQueue = e.to_state === 'pending' && e.from_state !== 'pending';
    const outOfQueue = e.from_state === 'pending' && e.to_state !== 'pending';
    if (intoQueue) queuedSince = ms(e.at);
    if (outOfQueue && queuedSince !== null) {
      queue.push({ from: queuedSince, startedAt: null, to: ms(e.at) });
      queuedSince = null;
    }
    if (e.type !== 'placed' && (intoQueue || outOfQueue || attempt === 0)) queueEvents.push(e);
    else byAttempt.set(attempt, [...(byAttempt.get(attempt) ?? []), e]);
  }
  if (queuedSince !== null) queue.push({ from: queuedSince, startedAt: null, to: null });

  const rows: TimelineRow[] = [];
  if (queue.length > 0 || queueEvents.length > 0) rows.push({ key: 'queue', kind: 'queue', attempt: 0, site: null, stretches: queue, events: queueEvents });
  for (const p of [...job.placements].sort((a, b) => a.attempt - b.attempt)) {
    const events = byAttempt.get(p.attempt) ?? [];
    const siteOf = (e: JobEventJson) => (typeof e.detail.site === 'string' ? e.detail.site : null);
    // Its sites: the placement's now, then those that left it (a shrink names them), then any other that sent a log.
    const sites = new Map<string, { site_id: string; lender_org_id: string }>();
    for (const part of p.parts) if (!sites.has(part.site_id)) sites.set(part.site_id, { site_id: part.site_id, lender_org_id: part.lender_org_id });
    const lenderOf = (id: string) => p.logs.find((l) => l.site_id === id)?.lender_org_id ?? '';
    for (const e of events) {
      const id = siteOf(e);
      if (e.type === 'shrunk' && id !== null && !sites.has(id)) sites.set(id, { site_id: id, lender_org_id: lenderOf(id) });
    }
    const [from, startedAt, to] = [ms(p.placed_at), p.started_at === null ? null : ms(p.started_at), p.ended_at === null ? null : ms(p.ended_at)];
    const onPart = (e: JobEventJson) => {
      const id = siteOf(e);
      return id !== null && sites.has(id);
    };
    rows.push({ key: `attempt-${p.attempt}`, kind: 'attempt', attempt: p.attempt, site: null, stretches: [{ from, startedAt, to }], events: events.filter((e) => !onPart(e)) });
    for (const site of sites.values()) {
      const mine = events.filter((e) => siteOf(e) === site.site_id);
      const part = p.parts.find((x) => x.site_id === site.site_id);
      // A part started when its site said so (a job across sites), else when the attempt did; it ends when its site left, else with the attempt.
      const partStarted = part?.started_at ?? mine.find((e) => e.type === 'part_started')?.at;
      const left = part === undefined ? mine.find((e) => e.type === 'shrunk')?.at : undefined;
      rows.push({
        key: `attempt-${p.attempt}-${site.site_id}`, kind: 'part', attempt: p.attempt, site,
        stretches: [{ from, startedAt: partStarted === undefined ? startedAt : ms(partStarted), to: left === undefined ? to : ms(left) }],
        events: mine,
      });
    }
  }
  return rows;
}

/** A row's stretch cut into what the chart draws: queued; or placed and not yet started, then running. `now` ends a stretch still going. */
export function stretchPhases(kind: TimelineRow['kind'], s: TimelineStretch, now: number): { readonly phase: 'queued' | 'placed' | 'running'; readonly from: number; readonly to: number }[] {
  const end = Math.max(s.to ?? now, s.from);
  if (kind === 'queue') return [{ phase: 'queued', from: s.from, to: end }];
  if (s.startedAt === null) return [{ phase: 'placed', from: s.from, to: end }];
  const started = Math.min(Math.max(s.startedAt, s.from), end);
  return [...(started > s.from ? [{ phase: 'placed' as const, from: s.from, to: started }] : []), { phase: 'running', from: started, to: end }];
}
