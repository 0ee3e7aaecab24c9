import type { MessageKey } from '../i18n/catalog-en.ts';

/**
 * The ledger page's date range: two UTC days, both included, either left empty (open).
 * Checked before anything is asked; what the API is asked is `from` (the first day's
 * midnight, UTC) and `to` (the midnight after the last day: the API's `to` is exclusive).
 */
export interface LedgerRangeInput {
  /** YYYY-MM-DD, or '' for the first entry on. */
  readonly from: string;
  /** YYYY-MM-DD, or '' up to the last entry. */
  readonly to: string;
}

export const NO_RANGE: LedgerRangeInput = { from: '', to: '' };

export type LedgerRangeCheck =
  | { readonly ok: true; readonly range: LedgerRangeInput; /** `from=…&to=…` for the API, or '' for every entry. */ readonly query: string }
  | { readonly ok: false; readonly errors: { readonly from?: MessageKey; readonly to?: MessageKey } };

const DAY_MS = 86_400_000;

/** The UTC midnight a YYYY-MM-DD day starts at, or null when it is no day of the calendar. */
function dayStart(day: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const ms = Date.parse(`${day}T00:00:00Z`);
  // Date.parse takes 2026-02-30 for March 2: the day must come back as written.
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === day ? ms : null;
}

export function checkLedgerRange(input: LedgerRangeInput): LedgerRangeCheck {
  const from = input.from.trim();
  const to = input.to.trim();
  const fromMs = from === '' ? undefined : dayStart(from);
  const toMs = to === '' ? undefined : dayStart(to);
  const errors: { from?: MessageKey; to?: MessageKey } = {};
  if (fromMs === null) errors.from = 'ledger.rangeNotDay';
  if (toMs === null) errors.to = 'ledger.rangeNotDay';
  else if (toMs !== undefined && typeof fromMs === 'number' && toMs < fromMs) errors.to = 'ledger.rangeOrder';
  if (Object.keys(errors).length > 0 || fromMs === null || toMs === null) return { ok: false, errors };
  const query = [fromMs === undefined ? null : `from=${from}`, toMs === undefined ? null : `to=${new Date(toMs + DAY_MS).toISOString().slice(0, 10)}`].filter((q) => q !== null).join('&');
  return { ok: true, range: { from, to }, query };
}

/** `path` with the range's query added (`/ledger?bucket=day&from=…`). */
export function withRange(path: string, query: string): string {
  return query === '' ? path : `${path}${path.includes('?') ? '&' : '?'}${query}`;
}

/** The name of a CSV download of `what` (`ledger`, `ledger-jobs`) on the dates shown: `suanli-ledger-2026-11-25-to-2026-11-30.csv`. */
export function csvFileName(what: string, range: LedgerRangeInput): string {
  const dates = range.from === '' && range.to === '' ? '' : `-${range.from === '' ? 'start' : range.from}-to-${range.to === '' ? 'end' : range.to}`;
  return `suanli-${what}${dates}.csv`;
}
