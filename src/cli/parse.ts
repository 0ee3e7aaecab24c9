import { InvalidInputError } from '../model/errors.ts';
import type { MixBucket } from '../plan/index.ts';

/**
 * Flag-value parsers. Each throws InvalidInputError naming the flag (without
 * dashes), which the CLI turns into one line and exit code 2.
 */

export function number(flag: string, text: string): number {
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(n)) throw new InvalidInputError(flag, `"${text}" is not a number`, 'a number such as 8 or 0.4');
  if (n <= 0) throw new InvalidInputError(flag, `must be above zero, got ${text}`, 'a number > 0');
  return n;
}

export function integer(flag: string, text: string): number {
  const n = number(flag, text);
  if (!Number.isInteger(n)) throw new InvalidInputError(flag, `must be a whole number, got ${text}`, 'an integer ≥ 1');
  return n;
}

/** A whole number ≥ 0 (seeds, offsets). */
export function wholeNumber(flag: string, text: string): number {
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new InvalidInputError(flag, `"${text}" is not a whole number ≥ 0`, 'an integer such as 0 or 42');
  return n;
}

/** A number from `min` to `max` inclusive (zero and negatives allowed when the range has them). */
export function numberBetween(flag: string, text: string, min: number, max: number): number {
  const n = Number(text.trim());
  const range = max === Infinity ? `a number ≥ ${min}` : `a number from ${min} to ${max}`;
  if (text.trim() === '' || !Number.isFinite(n)) throw new InvalidInputError(flag, `"${text}" is not a number`, range);
  if (n < min || n > max) throw new InvalidInputError(flag, `${text} is out of range`, range);
  return n;
}

/** A whole number from `min` to `max` inclusive (priorities may be negative). */
export function integerBetween(flag: string, text: string, min: number, max: number): number {
  const n = numberBetween(flag, text, min, max);
  if (!Number.isInteger(n)) throw new InvalidInputError(flag, `must be a whole number, got ${text}`, `an integer from ${min} to ${max}`);
  return n;
}

const SECONDS_PER = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** A duration in seconds, above zero: 90s, 30m, 2h, 1.5d, or a bare number of seconds. */
export function duration(flag: string, text: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+)\s*([smhd]?)\s*$/.exec(text);
  if (!m) throw new InvalidInputError(flag, `"${text}" is not a duration`, 'a number with s, m, h or d (90s, 30m, 2h, 1.5d), or seconds');
  return number(flag, m[1] ?? '') * SECONDS_PER[(m[2] || 's') as keyof typeof SECONDS_PER];
}

/** Counts with an optional suffix: 2000, 2e6, 500k, 2M, 1.5B. */
export function quantity(flag: string, text: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kKmMbB]?)\s*$/.exec(text);
  if (!m) throw new InvalidInputError(flag, `"${text}" is not a count`, 'a number, optionally with k, M or B, e.g. 2e6 or 500k');
  const scale = { '': 1, k: 1e3, m: 1e6, b: 1e9 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return number(flag, m[1] ?? '') * scale;
}

export function size(flag: string, text: string): { width: number; height: number } {
  const m = /^\s*(\d+)\s*[x×]\s*(\d+)\s*$/i.exec(text);
  if (!m) throw new InvalidInputError(flag, `"${text}" is not WIDTHxHEIGHT`, 'WIDTHxHEIGHT in pixels, e.g. 1280x720');
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width <= 0 || height <= 0) throw new InvalidInputError(flag, `width and height must be above zero, got ${text}`, 'WIDTHxHEIGHT, e.g. 1280x720');
  return { width, height };
}

export function triple(flag: string, text: string): { t: number; h: number; w: number } {
  const m = /^\s*(\d+)x(\d+)x(\d+)\s*$/i.exec(text);
  if (!m || [m[1], m[2], m[3]].some((v) => Number(v) <= 0)) throw new InvalidInputError(flag, `"${text}" is not TxHxW`, 'three positive integers TxHxW, e.g. 4x8x8');
  return { t: Number(m[1]), h: Number(m[2]), w: Number(m[3]) };
}

export function oneOf<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  const found = choices.find((c) => c === text);
  if (!found) throw new InvalidInputError(flag, `unknown value "${text}"`, choices.join(', '));
  return found;
}

/** A comma-separated list; a single value is a list of one. */
export function list<T>(flag: string, text: string, each: (flag: string, item: string) => T): T[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new InvalidInputError(flag, `"${text}" has an empty item`, 'values separated by commas, e.g. 4,6,60');
  return items.map((s) => each(flag, s));
}

/** Dataset mix: buckets "WxH:DURATION:CLIPS" separated by commas; DURATION is 5s or 81f. */
export function mix(flag: string, text: string): MixBucket[] {
  return list(flag, text, (f, item) => {
    const parts = item.split(':');
    if (parts.length !== 3) throw new InvalidInputError(f, `bucket "${item}" is not WxH:DURATION:CLIPS`, 'e.g. 1280x720:5s:2M,640x480:10s:500k');
    const [sz, dur, clips] = parts as [string, string, string];
    const { width, height } = size(f, sz);
    const d = /^(\d*\.?\d+)\s*(s|f)$/.exec(dur.trim());
    if (!d) throw new InvalidInputError(f, `duration "${dur}" in bucket "${item}" is neither seconds (5s) nor frames (81f)`, 'e.g. 5s or 81f');
    const amount = number(f, d[1] ?? '');
    const clipCount = quantity(f, clips);
    return d[2] === 's' ? { width, height, seconds: amount, clips: clipCount } : { width, height, frames: integer(f, d[1] ?? ''), clips: clipCount };
  });
}

/** Commander's accumulator for a repeatable flag: each use adds one value. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
