import { en, type MessageKey } from './catalog-en.ts';
import { zhCN } from './catalog-zh-cn.ts';

/**
 * The dashboard's languages, their message catalogs, and the Intl formatting of
 * numbers, dates and durations for each. Messages are plain strings with `{name}`
 * placeholders; the English catalog defines the keys (MessageKey), and tsc refuses
 * a catalog that lacks one. Pure: the React side is i18n-context.tsx.
 */
export const LOCALES = ['en', 'zh-CN'] as const;
export type Locale = (typeof LOCALES)[number];

export const CATALOGS: Readonly<Record<Locale, Readonly<Record<MessageKey, string>>>> = { en, 'zh-CN': zhCN };

/** Each language's name in itself, as the language switch lists it. */
export const LOCALE_NAMES: Readonly<Record<Locale, string>> = { en: 'English', 'zh-CN': '简体中文' };

export type MessageVars = Readonly<Record<string, string | number>>;

/** `message` with each `{name}` replaced by `vars.name`; a placeholder without a value stays as it is. */
export function interpolate(message: string, vars: MessageVars = {}): string {
  return message.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/** The placeholder names in a message, sorted: both catalogs must use the same ones for each key. */
export function placeholdersOf(message: string): string[] {
  return [...message.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();
}

/**
 * Where a half-width `,:;()` sits beside a Chinese character or full-width punctuation
 * (spaces between or not): Chinese text takes full-width punctuation (，：；（）), and a
 * mix is what the catalog and view tests look for. Half-width is right between Latin
 * text and figures (`h100, a100`, `1,000,000`, `"schema": …`), and is not reported.
 */
export function halfWidthBesideChinese(text: string): string[] {
  const chinese = String.raw`[\p{Script=Han}\u3000-\u303f\uff00-\uffef]`;
  return [...text.matchAll(new RegExp(String.raw`${chinese}\s*[,:;()]|[,:;()]\s*${chinese}`, 'gu'))].map((m) => m[0]);
}

/**
 * `text` (a date, a time) as one unbreakable run: its spaces become no-break spaces. (Dates
 * hold no Chinese character, beside which a line could break whatever the spaces: the
 * Chinese dates are numeric, 2026/11/26.)
 */
export function unbreakable(text: string): string {
  return text.replace(/ /g, '\u00a0');
}

export function translate(locale: Locale, key: MessageKey, vars?: MessageVars): string {
  return interpolate(CATALOGS[locale][key], vars);
}

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

/** The language to start in: the one chosen before (stored), else the browser's first preference that is Chinese, else English. */
export function initialLocale(stored: string | null, preferred: readonly string[]): Locale {
  if (isLocale(stored)) return stored;
  return preferred.some((l) => l.toLowerCase().startsWith('zh')) ? 'zh-CN' : 'en';
}

/** Units for durations and relative times, largest first; the names are both Intl.NumberFormat units and RelativeTimeFormat units. */
const SECOND = { unit: 'second', seconds: 1 } as const;
const TIME_UNITS = [{ unit: 'day', seconds: 86_400 }, { unit: 'hour', seconds: 3_600 }, { unit: 'minute', seconds: 60 }, SECOND] as const;
/** The largest unit `seconds` holds at least one of (seconds below one: seconds). */
const unitFor = (seconds: number) => TIME_UNITS.find((u) => Math.abs(seconds) >= u.seconds) ?? SECOND;

/** SI prefixes by power of 1000, for FLOP counts ("660 PFLOP"): the same in every language. */
const SI_PREFIXES = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'] as const;
/** Decimal byte units, largest first, as GPU vendors state memory: Intl unit names. */
const BYTE_UNITS = [{ unit: 'petabyte', bytes: 1e15 }, { unit: 'terabyte', bytes: 1e12 }, { unit: 'gigabyte', bytes: 1e9 }] as const;

/** Numbers, GPU-hours, percentages, dates and durations as `locale` writes them (Intl); a date or time never wraps across lines. */
export class Formatter {
  private readonly integer: Intl.NumberFormat;
  private readonly decimal: Intl.NumberFormat;
  private readonly small: Intl.NumberFormat;
  private readonly percent: Intl.NumberFormat;
  private readonly percent1: Intl.NumberFormat;
  private readonly threeDigits: Intl.NumberFormat;
  private readonly scientificFormat: Intl.NumberFormat;
  private readonly compactFormat: Intl.NumberFormat;
  private readonly dateTime: Intl.DateTimeFormat;
  private readonly time: Intl.DateTimeFormat;
  private readonly minute: Intl.DateTimeFormat;
  private readonly utcDate: Intl.DateTimeFormat;
  private readonly relative: Intl.RelativeTimeFormat;
  private readonly conjunction: Intl.ListFormat;
  /** Intl unit formats made on first use, by unit: durations' and bytes'. */
  private readonly durations = new Map<string, Intl.NumberFormat>();

  constructor(readonly locale: Locale) {
    this.integer = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
    this.decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
    this.small = new Intl.NumberFormat(locale, { maximumSignificantDigits: 2 });
    this.percent = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 });
    this.percent1 = new Intl.NumberFormat(locale, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
    this.threeDigits = new Intl.NumberFormat(locale, { maximumSignificantDigits: 3 });
    this.scientificFormat = new Intl.NumberFormat(locale, { notation: 'scientific', minimumSignificantDigits: 3, maximumSignificantDigits: 3 });
    this.compactFormat = new Intl.NumberFormat(locale, { notation: 'compact', maximumSignificantDigits: 3 });
    // 24-hour clocks everywhere (never 3 PM beside 15:00), and a full time says its zone: members sit in several.
    // Dates never wrap (unbreakable): in Chinese they are numeric (2026/11/26, as in 2026年11月26日 a
    // line may break beside any 年, 月, 日), in English named (Nov 26, 2026: 11/26/26 reads two ways).
    const dateStyle = locale === 'zh-CN' ? 'short' : 'medium';
    this.dateTime = new Intl.DateTimeFormat(locale, { dateStyle, timeStyle: 'long', hourCycle: 'h23' });
    this.time = new Intl.DateTimeFormat(locale, { timeStyle: 'medium', hourCycle: 'h23' });
    this.minute = new Intl.DateTimeFormat(locale, { dateStyle, timeStyle: 'short', hourCycle: 'h23' });
    this.utcDate = new Intl.DateTimeFormat(locale, { dateStyle, timeZone: 'UTC' });
    this.relative = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
    this.conjunction = new Intl.ListFormat(locale, { type: 'conjunction' });
  }

  /** A count (GPUs, jobs). */
  count(n: number): string {
    return this.integer.format(n);
  }

  /** A quantity such as GPU-hours: two decimals, or two significant digits below 0.1 so that a short run is not "0". */
  amount(n: number): string {
    return n !== 0 && Math.abs(n) < 0.1 ? this.small.format(n) : this.decimal.format(n);
  }

  /** `fraction` (0.42) as a percentage ("42%"). */
  percentOf(fraction: number): string {
    return this.percent.format(fraction);
  }

  /** `fraction` as a percentage with one decimal ("72.3%"), where the planner's shares need it. */
  percentPrecise(fraction: number): string {
    return this.percent1.format(fraction);
  }

  /** Three significant digits: "0.507", "3.35", "1,824". */
  significant(n: number): string {
    return this.threeDigits.format(n);
  }

  /** Large counts the short way of the language: "14B", "3M" in English, "140亿", "300万" in Chinese. */
  compact(n: number): string {
    return this.compactFormat.format(n);
  }

  /** A FLOP count with an SI prefix and in scientific notation: "660 PFLOP (6.60E17)". */
  flops(n: number): string {
    const power = n === 0 ? 0 : Math.min(SI_PREFIXES.length - 1, Math.max(0, Math.floor(Math.log10(Math.abs(n)) / 3)));
    return `${this.threeDigits.format(n / 1000 ** power)} ${SI_PREFIXES[power] ?? ''}FLOP (${this.scientificFormat.format(n)})`;
  }

  /** Bytes in decimal gigabytes (or TB, PB when larger), three significant digits: "28 GB", "1.24 TB". */
  bytes(n: number): string {
    const { unit, bytes } = BYTE_UNITS.find((u) => Math.abs(n) >= u.bytes) ?? BYTE_UNITS[2];
    let format = this.durations.get(unit);
    if (format === undefined) {
      format = new Intl.NumberFormat(this.locale, { style: 'unit', unit, unitDisplay: 'short', maximumSignificantDigits: 3 });
      this.durations.set(unit, format);
    }
    return format.format(n / bytes);
  }

  /** An ISO 8601 time as a local date and time. */
  date(iso: string): string {
    return unbreakable(this.dateTime.format(new Date(iso)));
  }

  /** An ISO 8601 time as a local date and time to the minute: the start of an hour. */
  dateMinute(iso: string): string {
    return unbreakable(this.minute.format(new Date(iso)));
  }

  /** The UTC day an ISO 8601 time falls in, as a date: how the ledger's daily buckets are named. */
  utcDay(iso: string): string {
    return unbreakable(this.utcDate.format(new Date(iso)));
  }

  /** A time of day (for chart axes and "updated at"). */
  timeOfDay(ms: number): string {
    return unbreakable(this.time.format(new Date(ms)));
  }

  /** How long ago (or from now) `iso` is, relative to `nowMs`: "5 seconds ago", "5秒钟前". */
  ago(iso: string, nowMs: number): string {
    const seconds = (new Date(iso).getTime() - nowMs) / 1000;
    const { unit, seconds: size } = unitFor(seconds);
    return this.relative.format(Math.round(seconds / size), unit);
  }

  /** Names as a list of the language: "a, b and c", "a、b和c". */
  list(items: readonly string[]): string {
    return this.conjunction.format(items);
  }

  /** A duration in its largest whole unit, one decimal: "1.5 hr", "1.5小时"; under a second, two digits: "0.095 sec". */
  duration(seconds: number): string {
    const { unit, seconds: size } = unitFor(seconds);
    const subSecond = Math.abs(seconds) < 1;
    const key = subSecond ? 'subsecond' : unit;
    let format = this.durations.get(key);
    if (format === undefined) {
      format = new Intl.NumberFormat(this.locale, { style: 'unit', unit, unitDisplay: 'short', ...(subSecond ? { maximumSignificantDigits: 2 } : { maximumFractionDigits: 1 }) });
      this.durations.set(key, format);
    }
    return format.format(seconds / size);
  }
}
