import 'server-only';
import { sql } from 'drizzle-orm';
import type { JobName, JobRun } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { queryRows } from '@/lib/server/db/sql';
import { jobNames } from '@/lib/server/jobs/catalog';

/** Each job is scheduled daily; 26 hours leaves two hours of slack for a late or slow run. */
export const STALE_AFTER_HOURS = 26;
/** Every job is a daily one, watched here; the answer lists them in the catalog's order. */
const DAILY_JOBS: JobName[] = jobNames;

export type JobHealth = {
  /** When the last real (not dry-run) call finished successfully. */
  lastSuccessAt: string | null;
  lastRunAt: string | null;
  lastRunStatus: JobRun['status'] | null;
  /** No success for more than STALE_AFTER_HOURS. */
  stale: boolean;
  /**
   * The last real call that finished answered `hasMore`: work is left for the next call (a continuation
   * chain that stopped at its bound, or a caller that asked for small calls).
   */
  workLeft: boolean;
};

export type JobsHealth = {
  status: 'ok' | 'degraded';
  checkedAt: string;
  staleAfterHours: number;
  jobs: Record<JobName, JobHealth>;
  /** Active schedules whose next installment is due: normal between two daily runs, alarming when it keeps growing. */
  overdueSchedules: number;
  oldestOverdueAt: string | null;
  /** Set while some job has never succeeded: says what its staleness is measured from. */
  note?: string;
};

type JobRow = {
  job: JobName;
  last_success_ms: number | null;
  last_run_ms: number | null;
  last_status: JobRun['status'] | null;
  work_left: boolean | null;
};

/**
 * Whether the daily jobs are running: `degraded` when one of them has not succeeded for more than
 * 26 hours. A job that has never succeeded is measured from when the install started being used
 * (its first user or first job run, whichever came first), so a cron that was never set up is
 * reported a day after the first sign-up; an install with neither users nor runs has nothing to
 * grant yet and is `ok`.
 */
export async function getJobsHealth(db: Database, params: { now?: Date } = {}): Promise<JobsHealth> {
  const now = params.now ?? new Date();
  const epochMs = (column: string) => sql.raw(`(extract(epoch from ${column}) * 1000)::float8`);
  const rows = await queryRows<JobRow>(
    db,
    sql`select job,
               max(${epochMs('finished_at')}) filter (where status = 'succeeded' and not dry_run) as last_success_ms,
               max(${epochMs('started_at')}) as last_run_ms,
               (array_agg(status order by started_at desc))[1] as last_status,
               (array_agg(has_more order by finished_at desc) filter (where status = 'succeeded' and not dry_run))[1] as work_left
          from job_runs group by job`,
  );
  const [usage] = await queryRows<{ since_ms: number | null; overdue: number; oldest_overdue_ms: number | null }>(
    db,
    sql`select least((select min(${epochMs('created_at')}) from users), (select min(${epochMs('started_at')}) from job_runs)) as since_ms,
               (select count(*)::int from credit_schedules where status = 'active' and next_due_at <= ${now.toISOString()}::timestamptz) as overdue,
               (select min(${epochMs('next_due_at')}) from credit_schedules where status = 'active' and next_due_at <= ${now.toISOString()}::timestamptz) as oldest_overdue_ms`,
  );
  const sinceMs = usage?.since_ms ?? null;
  const staleMs = STALE_AFTER_HOURS * 3_600_000;
  const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

  const jobs = {} as Record<JobName, JobHealth>;
  let neverSucceeded = false;
  for (const job of DAILY_JOBS) {
    const row = rows.find((r) => r.job === job);
    const lastSuccessMs = row?.last_success_ms ?? null;
    if (lastSuccessMs === null) neverSucceeded = true;
    const reference = lastSuccessMs ?? sinceMs;
    jobs[job] = {
      lastSuccessAt: iso(lastSuccessMs),
      lastRunAt: iso(row?.last_run_ms ?? null),
      lastRunStatus: row?.last_status ?? null,
      stale: reference !== null && now.getTime() - Number(reference) > staleMs,
      workLeft: row?.work_left ?? false,
    };
  }
  const health: JobsHealth = {
    status: DAILY_JOBS.some((job) => jobs[job].stale) ? 'degraded' : 'ok',
    checkedAt: now.toISOString(),
    staleAfterHours: STALE_AFTER_HOURS,
    jobs,
    overdueSchedules: usage?.overdue ?? 0,
    oldestOverdueAt: iso(usage?.oldest_overdue_ms ?? null),
  };
  if (neverSucceeded) {
    health.note =
      sinceMs === null
        ? 'No users and no job runs yet: nothing to watch.'
        : `A job that has never succeeded is measured from ${iso(sinceMs)}, the first user or job run.`;
  }
  return health;
}
