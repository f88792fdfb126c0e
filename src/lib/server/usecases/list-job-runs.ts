import 'server-only';
import { and, desc, eq } from 'drizzle-orm';
import { jobRuns, type JobName, type JobRun } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { RUN_PRESUMED_DEAD_AFTER_MS } from '@/lib/server/credits/job-runner';

export type ListJobRunsParams = {
  job?: JobName;
  status?: JobRun['status'];
  /** 1-based. */
  page?: number;
  pageSize?: number;
  now?: Date;
};

export type JobRunRow = JobRun & {
  durationMs: number | null;
  /** Still `running` after RUN_PRESUMED_DEAD_AFTER_MS: its process died before recording the end. */
  stale: boolean;
};

/** A page of job runs, newest first, optionally of one job and one status: the admin console's runs table. */
export async function listJobRuns(db: Database, params: ListJobRunsParams = {}) {
  const now = params.now ?? new Date();
  const pageSize = Math.min(Math.max(params.pageSize ?? 25, 1), 100);
  const page = Math.max(params.page ?? 1, 1);
  const rows = await db
    .select()
    .from(jobRuns)
    .where(and(params.job ? eq(jobRuns.job, params.job) : undefined, params.status ? eq(jobRuns.status, params.status) : undefined))
    .orderBy(desc(jobRuns.startedAt), desc(jobRuns.id))
    .limit(pageSize + 1)
    .offset((page - 1) * pageSize);
  return { runs: rows.slice(0, pageSize).map((run) => describeRun(run, now)), page, hasNextPage: rows.length > pageSize };
}

export function describeRun(run: JobRun, now: Date): JobRunRow {
  return {
    ...run,
    durationMs: run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null,
    stale: run.status === 'running' && now.getTime() - run.startedAt.getTime() > RUN_PRESUMED_DEAD_AFTER_MS,
  };
}
