import type { RequestErrorCode } from '../api/client.ts';
import type { DiagnosisJson, JobEventJson, JobEventType, JobState, LedgerBucket, PlacementJson, Role, SiteHealth } from '../api/types.ts';
import type { MessageKey } from './catalog-en.ts';
import type { I18n } from './i18n-context.tsx';

/**
 * The message for each value the API sends that the dashboard shows as words:
 * job states, site health, roles, error codes, the ledger history's steps, and the
 * scheduler's reasons for keeping a job waiting. The Records keyed by the server's enums make tsc fail
 * when the server adds a value the catalogs do not name.
 */
export const STATE_LABEL: Readonly<Record<JobState, MessageKey>> = {
  pending: 'state.pending',
  placed: 'state.placed',
  running: 'state.running',
  preempted: 'state.preempted',
  succeeded: 'state.succeeded',
  failed: 'state.failed',
  cancelled: 'state.cancelled',
};

export const HEALTH_LABEL: Readonly<Record<SiteHealth, MessageKey>> = { unknown: 'health.unknown', up: 'health.up', lost: 'health.lost' };

export const ROLE_LABEL: Readonly<Record<Role, MessageKey>> = { admin: 'role.admin', 'org-admin': 'role.orgAdmin', member: 'role.member', agent: 'role.agent' };

/** The steps GET /ledger/history sums by, shortest first (the ledger's switch offers them in this order). */
export const BUCKET_LABEL: Readonly<Record<LedgerBucket, MessageKey>> = { hour: 'ledger.bucketHour', day: 'ledger.bucketDay' };

export const ERROR_LABEL: Readonly<Record<RequestErrorCode, MessageKey>> = {
  invalid_request: 'error.invalid_request',
  unauthorized: 'error.unauthorized',
  forbidden: 'error.forbidden',
  quota_exceeded: 'error.quota_exceeded',
  not_found: 'error.not_found',
  method_not_allowed: 'error.method_not_allowed',
  conflict: 'error.conflict',
  gone: 'error.gone',
  payload_too_large: 'error.payload_too_large',
  unsupported_media_type: 'error.unsupported_media_type',
  idempotency_mismatch: 'error.idempotency_mismatch',
  rate_limited: 'error.rate_limited',
  internal: 'error.internal',
  unavailable: 'error.unavailable',
  network: 'error.network',
  unexpected: 'error.unexpected',
};

/**
 * The scheduler's reason codes (src/sched/diagnosis.ts REASONS). The API sends
 * them as plain strings, so this list is checked against the server's by
 * test/web-vocabulary.test.ts rather than by tsc.
 */
export const REASON_LABEL: Readonly<Record<string, MessageKey>> = {
  gpu_type: 'reason.gpu_type',
  site_too_small: 'reason.site_too_small',
  site_down: 'reason.site_down',
  too_few_free: 'reason.too_few_free',
  fragmented: 'reason.fragmented',
  lend_limit: 'reason.lend_limit',
  not_shared: 'reason.not_shared',
  not_lent_to_org: 'reason.not_lent_to_org',
  borrower_limit: 'reason.borrower_limit',
  no_containment: 'reason.no_containment',
  reserved: 'reason.reserved',
  held_for_owner: 'reason.held_for_owner',
};

/**
 * Why a job waits, in the chosen language, from the diagnosis's counts (the
 * server's `message` is English). A reason this dashboard does not know yet falls
 * back to the server's sentence, so nothing is hidden.
 */
export function diagnosisText({ t, format }: Pick<I18n, 't' | 'format'>, d: DiagnosisJson): string {
  if (d.blocked_by !== undefined) return t('diagnosis.blocked', { job: d.blocked_by });
  const reasons = Object.entries(d.reasons).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const parts: string[] = [];
  for (const [code, count] of reasons) {
    const label = REASON_LABEL[code];
    if (label === undefined) return d.message;
    parts.push(t('diagnosis.part', { reason: t(label), count: format.count(count) }));
  }
  const head = t('diagnosis.head', { sites: format.count(d.sites) });
  const text = parts.length === 0 ? head : t('diagnosis.withParts', { head, parts: parts.join(t('diagnosis.separator')) });
  // Why no set of sites takes a spannable job is the scheduler's own sentence, shown as it wrote it.
  const across = d.span === undefined ? text : t('diagnosis.span', { text, span: d.span });
  return d.never ? t('diagnosis.never', { text: across }) : across;
}

/**
 * Where a placement's parts are, by site name where known: "acme lab · h100 × 2 (nodes: 1)"; "—" for none.
 * A part on a site of another org than `orgId` (the job's) says who lends it, whoever looks: the
 * admin, who sees every site by name, too. A site the caller cannot see keeps its neutral label.
 */
export function placementText({ t, format }: Pick<I18n, 't' | 'format'>, parts: PlacementJson['parts'] | null | undefined, siteNames: ReadonlyMap<string, string>, orgId: string): string {
  if (parts === null || parts === undefined || parts.length === 0) return '—';
  return parts
    .map((p) => {
      const site = siteText({ t }, p, siteNames, orgId);
      const part = t('job.part', { site, type: p.gpu_type, gpus: format.count(p.gpus), nodes: format.count(p.nodes) });
      return p.started_at === undefined ? part : t('job.partWithStart', { part, started: t('job.partStarted', { time: format.date(p.started_at) }) });
    })
    // The language's own punctuation between parts: full-width in Chinese.
    .join(t('job.partSeparator'));
}

/**
 * A part's site in words: its name when the caller may see the site, else its neutral label; and when the site is
 * another org's than `orgId` (the job's), whoever looks, with the org lending it.
 */
export function siteText({ t }: Pick<I18n, 't'>, part: Pick<PlacementJson['parts'][number], 'site_id' | 'lender_org_id'>, siteNames: ReadonlyMap<string, string>, orgId: string): string {
  const name = siteNames.get(part.site_id) ?? part.site_id;
  return part.lender_org_id === orgId ? name : t('job.lentBy', { site: name, org: part.lender_org_id });
}

/** A job's event types in words (src/server/schemas.ts JOB_EVENT_TYPES); `eventLabel` shows any other by its code. */
export const EVENT_LABEL: Readonly<Record<JobEventType, MessageKey>> = {
  submitted: 'job.eventSubmitted',
  placed: 'job.eventPlaced',
  started: 'job.eventStarted',
  part_started: 'job.eventPartStarted',
  part_succeeded: 'job.eventPartSucceeded',
  succeeded: 'job.eventSucceeded',
  failed: 'job.eventFailed',
  cancelled: 'job.eventCancelled',
  preempted: 'job.eventPreempted',
  requeued: 'job.eventRequeued',
  site_lost: 'job.eventSiteLost',
  run_lost: 'job.eventRunLost',
  run_failed: 'job.eventRunFailed',
  coallocation_timeout: 'job.eventCoallocationTimeout',
  coallocation_failed: 'job.eventCoallocationFailed',
  shrunk: 'job.eventShrunk',
  membership: 'job.eventMembership',
};

const isKnownEvent = (type: string): type is JobEventType => Object.hasOwn(EVENT_LABEL, type);

/** An event's type in words; a type this dashboard does not know yet, by its code. */
export function eventLabel({ t }: Pick<I18n, 't'>, type: string): string {
  return isKnownEvent(type) ? t(EVENT_LABEL[type]) : type;
}

/** Codes the details carry (a failure's `reason`, a preemption's or shrink's `why`, a part's reported state), in words. */
const DETAIL_CODE_LABEL: Readonly<Record<string, Readonly<Record<string, MessageKey>>>> = {
  reason: { exit_code: 'job.detailReasonExitCode', cancelled_outside: 'job.detailReasonOutside', engine: 'job.detailReasonEngine' },
  why: { priority: 'job.detailWhyPriority', reclaim: 'job.detailWhyReclaim', site_lost: 'job.detailWhySiteLost' },
  part_state: { lost: 'job.detailPartLost', stopped: 'job.detailPartStopped', ...STATE_LABEL },
};

/**
 * What an event's detail says, in the chosen language: a phrase per field the server writes (sites by name where
 * the caller may see them, times and figures formatted), joined; null for an event type this dashboard does not know
 * (the view shows its detail as it came). Left out: a run's log tail (the logs show it) and the server's English
 * sentences that the event's type already says (a lost site's or a co-allocation timeout's `reason`). A field or a
 * code it does not know yet shows as it came, so nothing is hidden.
 */
export function eventDetailText({ t, format }: Pick<I18n, 't' | 'format'>, event: Pick<JobEventJson, 'type' | 'detail'>, siteNames: ReadonlyMap<string, string>): string | null {
  if (!isKnownEvent(event.type)) return null;
  const site = (v: unknown) => (typeof v === 'string' ? (siteNames.get(v) ?? v) : JSON.stringify(v));
  const sites = (v: unknown) => (Array.isArray(v) ? format.list(v.map(site)) : site(v));
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  const coded = (field: string, v: unknown): string | undefined => {
    const key = typeof v === 'string' ? DETAIL_CODE_LABEL[field]?.[v] : undefined;
    return key === undefined ? undefined : t(key);
  };
  const phrases: string[] = [];
  for (const [field, v] of Object.entries(event.detail)) {
    if (v === null || v === undefined || field === 'log_tail') continue;
    const phrase = ((): string | null => {
      switch (field) {
        case 'site': return t('job.detailSite', { site: site(v) });
        case 'attempt': return t('job.detailAttempt', { attempt: typeof v === 'number' ? format.count(v) : text(v) });
        case 'exit_code': return t('job.detailExitCode', { code: text(v) });
        case 'reason': return coded(field, v) ?? (event.type === 'site_lost' || event.type === 'coallocation_timeout' ? null : text(v));
        case 'why': case 'part_state': {
          const words = coded(field, v) ?? text(v);
          return field === 'why' ? words : t('job.detailPartState', { state: words });
        }
        case 'detail': return t('job.detailAgent', { text: text(v) });
        case 'waiting_for': return Array.isArray(v) && v.length === 0 ? t('job.detailWaitingForNone') : t('job.detailWaitingFor', { sites: sites(v) });
        case 'sites': return t('job.detailSites', { sites: sites(v) });
        case 'policy': return t('job.detailPolicy', { policy: text(v) });
        case 'efficiency': return typeof v === 'number' ? t('job.detailEfficiency', { efficiency: format.percentOf(v) }) : null;
        case 'wan_gbps': return typeof v === 'number' ? t('job.detailWan', { gbps: format.significant(v) }) : null;
        case 'by': return v === 'admin' ? t('job.detailByAdmin') : t('job.detailByToken', { token: text(v) });
        case 'stop_at': return typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? t('job.detailStopAt', { time: format.date(v) }) : text(v);
        case 'gpu_type': return t('job.detailGpuType', { type: text(v) });
        case 'retry': {
          const m = /^(\d+) of (\d+)$/.exec(text(v));
          return m === null ? text(v) : t('job.detailRetry', { retry: format.count(Number(m[1])), max: format.count(Number(m[2])) });
        }
        case 'generation': return t('job.detailGeneration', { generation: text(v) });
        default: return `${field}: ${text(v)}`;
      }
    })();
    if (phrase !== null) phrases.push(phrase);
  }
  return phrases.join(t('job.detailSeparator'));
}
