import 'server-only';
import { sql, type SQL } from 'drizzle-orm';

// When a paid plan is in force: from its anchor until the earlier of its cancel and the end of its
// term (a yearly plan's twelve months). One definition, for the jobs' SQL and the usecases alike.

/** SQL: the instant the plan stops (null: it runs until canceled). `least` ignores nulls. */
export const planEnds = (alias: string): SQL => sql`least(${sql.raw(alias)}.canceled_at, ${sql.raw(alias)}.ends_at)`;

/** SQL: the plan is in force at some instant of the UTC calendar month that contains `nowIso`. */
export const planInForceDuringMonth = (alias: string, nowIso: string): SQL =>
  sql`${sql.raw(alias)}.anchor_at < date_trunc('month', ${nowIso}::timestamptz) + interval '1 month'
      and coalesce(${planEnds(alias)}, 'infinity') > date_trunc('month', ${nowIso}::timestamptz)`;

/** The same rule in TypeScript, for a plan already read. */
export function planEndsAt(plan: { canceledAt: Date | null; endsAt: Date | null }): Date | null {
  const ends = [plan.canceledAt, plan.endsAt].filter((d): d is Date => d !== null);
  return ends.length ? new Date(Math.min(...ends.map((d) => d.getTime()))) : null;
}

export function planInForceAt(plan: { anchorAt: Date; canceledAt: Date | null; endsAt: Date | null }, at: Date): boolean {
  const ends = planEndsAt(plan);
  return plan.anchorAt <= at && (ends === null || at < ends);
}
