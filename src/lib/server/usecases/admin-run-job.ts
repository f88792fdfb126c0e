import 'server-only';
import { and, desc, eq, gt, ne } from 'drizzle-orm';
import { z } from 'zod';
import { jobRuns, type JobName, type JobRun } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { auditedAdminAction, type Audited } from '@/lib/server/admin/audit';
import { JobFailedError, RUN_PRESUMED_DEAD_AFTER_MS } from '@/lib/server/credits/job-runner';
import { addUtcDays, utcDateKey } from '@/lib/server/credits/time';
import { jobs, type JobDefinition } from '@/lib/server/jobs/registry';

export type AdminRunJobParams = {
  adminUserId: string;
  /** The key the console's form was rendered with. */
  idempotencyKey: string;
  timeBudgetMs: number;
  chunkSize: number;
  now?: Date;
} & (
  | { job: JobName; dryRun: boolean; continueRunId?: undefined }
  /** Continue a run that answered `hasMore`: the same job and query, from where it stopped. */
  | { continueRunId: string; job?: undefined; dryRun?: undefined }
);

export type AdminRunJobOutcome =
  | { ok: true; job: JobName; jobRunId: string; dryRun: boolean; hasMore: boolean; answer: Record<string, unknown> }
  | { ok: false; reason: 'job_failed'; job: JobName; jobRunId: string; message: string }
  | { ok: false; reason: 'job_running'; job: JobName; runningRunId: string; message: string }
  | { ok: false; reason: 'not_found' | 'nothing_to_continue' | 'already_continued'; message: string };

/**
 * Runs a job once from the console, through the job registry as a cron route or `npm run jobs` would
 * (trigger `admin`), and records it: a real run, a dry run (only its job-run row is written), or the
 * continuation of a run that answered `hasMore`. One call: a run that stops at the time budget answers
 * `hasMore`, and the console offers to continue it. A job that is running already (and not presumed
 * dead) is not started again.
 */
export async function adminRunJob(db: Database, params: AdminRunJobParams): Promise<Audited<AdminRunJobOutcome>> {
  const now = params.now ?? new Date();
  const continueRunId = params.continueRunId !== undefined ? params.continueRunId.toLowerCase() : undefined;
  const validRunId = continueRunId !== undefined && z.guid().safeParse(continueRunId).success ? continueRunId : null;
  return auditedAdminAction<AdminRunJobOutcome>(
    db,
    {
      adminUserId: params.adminUserId,
      action: 'run_job',
      targetJobRunId: validRunId,
      params: continueRunId !== undefined ? { continueRunId } : { job: params.job, dryRun: params.dryRun },
      idempotencyKey: params.idempotencyKey,
      now,
      atomic: false,
    },
    async (db) => {
      let job: JobName;
      // As a route's query string would carry them: the job's own schema parses (and clamps) them.
      let query: Record<string, string> = {};
      let asOf = now;
      if (continueRunId !== undefined) {
        const [run] = validRunId ? await db.select().from(jobRuns).where(eq(jobRuns.id, validRunId)) : [];
        if (!run) return { ok: false, reason: 'not_found', message: `No job run "${continueRunId}"` };
        const refused = await refuseContinuation(db, run);
        if (refused) return refused;
        job = run.job;
        query = queryOf(run);
        // A grant run of an earlier UTC day continues that day, as `npm run jobs -- grant --date` would.
        if (run.referenceDate && run.referenceDate < utcDateKey(now)) {
          asOf = new Date(addUtcDays(new Date(`${run.referenceDate}T00:00:00Z`), 1).getTime() - 1);
        }
      } else {
        job = params.job!;
        query = params.dryRun ? { dryRun: 'true' } : {};
      }
      const [running] = await db
        .select({ id: jobRuns.id })
        .from(jobRuns)
        .where(
          and(
            eq(jobRuns.job, job),
            eq(jobRuns.status, 'running'),
            gt(jobRuns.startedAt, new Date(now.getTime() - RUN_PRESUMED_DEAD_AFTER_MS)),
          ),
        )
        .limit(1);
      const dryRun = query.dryRun === 'true';
      if (running && !dryRun) {
        return {
          ok: false,
          reason: 'job_running',
          job,
          runningRunId: running.id,
          message: `The ${job} job is running (run ${running.id}): wait for it to finish`,
        };
      }
      const definition = jobs[job] as JobDefinition;
      try {
        const run = await definition.run(db, {
          trigger: 'admin',
          query: definition.query.parse(query),
          timeBudgetMs: params.timeBudgetMs,
          chunkSize: params.chunkSize,
          now: asOf,
        });
        const answer = definition.respond(run);
        return { ok: true, job, jobRunId: run.jobId, dryRun, hasMore: answer.hasMore, answer: answer.body };
      } catch (error) {
        // The run row says `failed` with the error; the console shows it rather than a crash page.
        if (error instanceof JobFailedError) {
          return {
            ok: false,
            reason: 'job_failed',
            job,
            jobRunId: error.jobId,
            message: `The ${job} run failed: see its page and the server log`,
          };
        }
        throw error;
      }
    },
  );
}

/** Only the last real run of a job that answered `hasMore` can be continued, once. */
async function refuseContinuation(db: Database, run: JobRun): Promise<AdminRunJobOutcome | null> {
  if (run.dryRun || run.status !== 'succeeded' || !run.hasMore) {
    return {
      ok: false,
      reason: 'nothing_to_continue',
      message: `Run ${run.id} has no work left to continue (only a finished real run that answered hasMore has)`,
    };
  }
  const [later] = await db
    .select({ id: jobRuns.id })
    .from(jobRuns)
    .where(and(eq(jobRuns.job, run.job), eq(jobRuns.dryRun, false), gt(jobRuns.startedAt, run.startedAt), ne(jobRuns.id, run.id)))
    .orderBy(desc(jobRuns.startedAt))
    .limit(1);
  if (later)
    return { ok: false, reason: 'already_continued', message: `A later ${run.job} run (${later.id}) has already carried on from this one` };
  return null;
}

/** The query a run was called with, from what its row recorded (`limit`, `catchUp`), so its continuation asks the same. */
function queryOf(run: JobRun): Record<string, string> {
  const { limit, catchUp } = run.params as { limit?: unknown; catchUp?: unknown };
  return {
    ...(typeof limit === 'number' ? { limit: String(limit) } : {}),
    ...(typeof catchUp === 'number' ? { catchUp: String(catchUp) } : {}),
  };
}
