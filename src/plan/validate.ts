import { InvalidInputError } from '../model/errors.ts';

/** Guards for planner inputs. Each names the field so the caller can point at its flag. */
export function positiveInteger(field: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new InvalidInputError(field, `must be a whole number above zero, got ${value}`, 'an integer ≥ 1');
  return value;
}

export function positiveNumber(field: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidInputError(field, `must be a number above zero, got ${value}`, 'a finite number > 0');
  return value;
}

export function fraction(field: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0 || value > 1) throw new InvalidInputError(field, `must be in (0, 1], got ${value}`, 'a fraction such as 0.4');
  return value;
}
