import { UTCDate } from '@date-fns/utc';
import { addDays, addMonths, differenceInCalendarMonths, startOfMonth } from 'date-fns';

// All credit dates are UTC. The calendar arithmetic is date-fns' on UTCDate (@date-fns/utc), so it
// never reads the process time zone: a server running in Europe/Paris grants on the same instants as
// one in UTC. Each helper returns a plain Date, the type the schema and the rest of the app use.

const utc = (date: Date) => new UTCDate(date.getTime());
const plain = (date: Date) => new Date(date.getTime());

/**
 * `date` plus `months` calendar months, clamped to the end of a shorter month (Jan 31 + 1 → Feb 28).
 * Same rule as Postgres' `timestamptz + interval 'n months'` in a UTC session, which the jobs use.
 * Periods are always computed from the anchor (`addUtcMonths(anchor, n)`), never from the previous date, so nothing drifts.
 */
export function addUtcMonths(date: Date, months: number): Date {
  return plain(addMonths(utc(date), months));
}

export function addUtcDays(date: Date, days: number): Date {
  return plain(addDays(utc(date), days));
}

export function startOfUtcMonth(date: Date): Date {
  return plain(startOfMonth(utc(date)));
}

export function startOfNextUtcMonth(date: Date): Date {
  return plain(startOfMonth(addMonths(utc(date), 1)));
}

/** `2026-11` */
export function utcMonthKey(date: Date): string {
  return date.toISOString().slice(0, 7);
}

/** `2026-11-22` */
export function utcDateKey(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The index of the billing period that contains `at` (0 = the period starting at the anchor); -1 before the anchor. */
export function periodIndexAt(anchor: Date, at: Date): number {
  if (at < anchor) return -1;
  // Calendar months apart, then corrected by a day-of-month or time-of-day that has not come yet.
  let n = differenceInCalendarMonths(utc(at), utc(anchor));
  while (n > 0 && addUtcMonths(anchor, n) > at) n--;
  while (addUtcMonths(anchor, n + 1) <= at) n++;
  return n;
}
