// Value parsers for options: a bad value is a usage error (exit 2) that names the flag, raised by
// commander before the command opens the database.
import { InvalidArgumentError } from 'commander';

/** A whole number within [min, max]. */
export const wholeNumber =
  (min = 1, max = Number.MAX_SAFE_INTEGER) =>
  (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`must be a whole number, got "${value}"`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}, got ${value}`);
    return n;
  };

/** Not empty (an empty `--reason ""` would record nothing). */
export const nonEmpty = (value: string): string => {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty');
  return value;
};
