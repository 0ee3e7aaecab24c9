import { InvalidInputError } from '../../model/errors.ts';

/**
 * The CLI names a generated pool as `NAME` or `NAME:key=value,key=value`
 * (e.g. `national:gpus=500000,seed=7`). These helpers parse that form; every
 * error is InvalidInputError with field 'pool' and names the key at fault.
 */

/** The key=value pairs after `name:`, checked against `keys`. Throws if the spec is not `name` or `name:…`. */
export function specParams(spec: string, name: string, keys: readonly string[]): ReadonlyMap<string, string> {
  const accepted = `${name} or ${name}:KEY=VALUE,… with keys ${keys.join(', ')}`;
  const trimmed = spec.trim();
  const params = new Map<string, string>();
  if (trimmed === name) return params;
  if (!trimmed.startsWith(`${name}:`)) throw new InvalidInputError('pool', `"${spec}" is not a ${name} pool`, accepted);
  for (const pair of trimmed.slice(name.length + 1).split(',')) {
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim();
    const value = eq < 0 ? '' : pair.slice(eq + 1).trim();
    if (!keys.includes(key)) throw new InvalidInputError('pool', `unknown key "${key}" in "${spec}"`, accepted);
    if (eq < 0 || value === '') throw new InvalidInputError('pool', `${key} has no value in "${spec}"`, accepted);
    if (params.has(key)) throw new InvalidInputError('pool', `${key} is given twice in "${spec}"`, accepted);
    params.set(key, value);
  }
  return params;
}

/** Bounds for `specNumber`; any left out is not checked. */
export interface SpecRange {
  readonly integer?: boolean;
  readonly above?: number;
  readonly atLeast?: number;
  readonly atMost?: number;
}

/** `value` as a finite number within `range`; the message names the key and says what would do. */
export function specNumber(key: string, value: string, range: SpecRange): number {
  const n = Number(value);
  const bounds = [
    range.above === undefined ? '' : `> ${range.above}`,
    range.atLeast === undefined ? '' : `≥ ${range.atLeast}`,
    range.atMost === undefined ? '' : `≤ ${range.atMost}`,
  ].filter((b) => b !== '');
  const what = `${range.integer === true ? 'a whole number' : 'a number'}${bounds.length > 0 ? ` ${bounds.join(' and ')}` : ''}`;
  const ok =
    value !== '' &&
    Number.isFinite(n) &&
    (range.integer !== true || Number.isSafeInteger(n)) &&
    (range.above === undefined || n > range.above) &&
    (range.atLeast === undefined || n >= range.atLeast) &&
    (range.atMost === undefined || n <= range.atMost);
  if (!ok) throw new InvalidInputError('pool', `${key}: expected ${what}, got "${value}"`, `${key}=${what}`);
  return n;
}
