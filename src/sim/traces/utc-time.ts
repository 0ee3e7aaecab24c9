const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Seconds since 1970-01-01 of a `YYYY-MM-DD HH:MM:SS[.fff]` time (a `T` may stand
 * for the space), read as UTC, or undefined when the text is not a real calendar
 * time. Traces log local wall-clock times without a zone; a simulation only uses
 * differences between them, so reading them all as UTC loses nothing and, unlike
 * the host's zone, does not shift across daylight-saving changes.
 */
export function parseUtcDateTime(text: string): number | undefined {
  const m = DATE_TIME.exec(text);
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = (DAYS_IN_MONTH[month - 1] ?? 0) + (leap ? 1 : 0);
  if (day < 1 || day > days || hour > 23 || minute > 59 || second >= 60) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute) / 1000 + second;
}
