// All credit dates are UTC. These helpers never read the process time zone, so a server running
// in Europe/Paris grants on the same instants as one in UTC.

const DAY_MS = 86_400_000;

function daysInUtcMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/**
 * `date` plus `months` calendar months, clamped to the end of a shorter month (Jan 31 + 1 → Feb 28).
 * Same rule as Postgres' `timestamptz + interval 'n months'` in a UTC session, which the jobs use.
 * Periods are always computed from the anchor (`addUtcMonths(anchor, n)`), never from the previous date, so nothing drifts.
 */
export function addUtcMonths(date: Date, months: number): Date {
  const year = date.getUTCFullYear();
  const targetMonthIndex = date.getUTCMonth() + months;
  const targetYear = year + Math.floor(targetMonthIndex / 12);
  const targetMonth = ((targetMonthIndex % 12) + 12) % 12;
  const day = Math.min(date.getUTCDate(), daysInUtcMonth(targetYear, targetMonth));
  return new Date(
    Date.UTC(targetYear, targetMonth, day, date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds()),
  );
}

export function addUtcDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

export function startOfUtcMonth(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
}

export function startOfNextUtcMonth(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1));
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
  let n = (at.getUTCFullYear() - anchor.getUTCFullYear()) * 12 + (at.getUTCMonth() - anchor.getUTCMonth());
  while (n > 0 && addUtcMonths(anchor, n) > at) n--;
  while (addUtcMonths(anchor, n + 1) <= at) n++;
  return n;
}
