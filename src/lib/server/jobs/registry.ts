import 'server-only';
import { z } from 'zod';
import type { JobName } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { DRY_RUN_PREVIEW_SIZE, type JobOptions } from '@/lib/server/credits/job-runner';
import type { CallOutcome } from '@/lib/server/http/continuation';
import { clampedInt, flag } from '@/lib/server/http/query';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { processDueSchedules } from '@/lib/server/usecases/process-due-schedules';
import { notifyExpiringCredits } from '@/lib/server/usecases/notify-expiring-credits';
import { jobCatalog } from './catalog';

/**
 * Every job, once: its route path and log lines (from the catalog), the query its route accepts, the
 * usecase call, and the answer. The cron routes (`cronJobRoute`) and `npm run jobs` both run a job
 * through its entry here, so a route and the CLI cannot answer differently. A new job is its
 * usecase, its name in the schema's `job_runs.job` enum, an entry in the catalog and one here (the
 * types refuse one without the other), a route file of a few lines, and a `vercel.json` line
 * (docs/architecture.md, "A new job"; `expiring-soon` was added exactly so).
 */

/** What every job's query has: an explicit `limit` or a dry run means the call does not continue itself. */
type QueryBase = { limit?: number | undefined; dryRun?: boolean | undefined };
type QuerySchema = z.ZodObject & z.ZodType<QueryBase>;

export type JobRunParams<Query> = Pick<JobOptions, 'trigger' | 'jobId' | 'now' | 'onChunk'> & {
  /** The route's parsed query; the CLI builds the same fields from its options (absent ones take the usecase's default). */
  query: Partial<Query>;
  timeBudgetMs: number;
  chunkSize: number;
  /** The CLI's `jobs grant --date`: reproduce a past day (see `grantMonthlyCredits`). No route sends it. */
  backfill?: boolean;
};

type RunResult = { jobId: string; hasMore: boolean };

export interface JobDefinition<Q extends QuerySchema = QuerySchema, Run extends RunResult = RunResult> {
  name: JobName;
  path: string;
  log: { label: string; what: string };
  /** The route's query (strict: an unknown key is refused by `parseQuery`). Out-of-range numbers are clamped. */
  query: Q;
  run(db: Database, params: JobRunParams<z.output<Q>>): Promise<Run>;
  /** The route's answer, byte for byte (keys in this order), and what the continuation needs to know. */
  respond(run: Run): CallOutcome;
  /** What a run adds to the CLI's totals (`failed` among them: any failed row makes the CLI exit 1). */
  counts(run: Run): Record<string, number>;
  /** What a dry run names for the operator (the CLI prints it): its first rows (users, batches, schedules) and how many in all. */
  preview(run: Run, query: Partial<z.output<Q>>): JobPreview | null;
}

export type JobPreview = { what: string; total: number; rows: Record<string, string | number | null>[] };

function defineJob<N extends JobName, Q extends QuerySchema, Run extends RunResult>(
  name: N,
  definition: Omit<JobDefinition<Q, Run>, 'name' | 'path' | 'log'>,
): JobDefinition<Q, Run> & { name: N } {
  const { path, log } = jobCatalog[name];
  return { name, path, log, ...definition };
}

/** The runner's options every job shares; the query's own fields are added by each entry. */
const options = ({ trigger, jobId, now, onChunk, timeBudgetMs, chunkSize }: JobRunParams<unknown>) => ({
  trigger,
  jobId,
  now,
  onChunk,
  timeBudgetMs,
  chunkSize,
});

export const jobs = {
  // GET|POST /api/jobs/credits/grant - the daily grant job (free, monthly and lifetime credits)
  grant: defineJob('grant', {
    // `limit`: users looked at in this call (1…100 000); unset, only the time budget stops a call, and a
    // call that ends with `hasMore` continues itself (see continuation.ts). With a limit it never does:
    // the caller asked for a small call and calls again itself.
    query: z.object({
      limit: clampedInt(1, 100_000).optional(),
      dryRun: flag.optional(),
    }),
    run: (db, p) => grantMonthlyCredits(db, { ...options(p), limit: p.query.limit, dryRun: p.query.dryRun, backfill: p.backfill }),
    respond: (run) => {
      const { processed, successful, skipped, failed } = run.results;
      return {
        body: {
          success: true,
          jobId: run.jobId,
          date: run.date,
          duration: run.durationMs,
          results: { processed, successful, skipped, failed },
          hasMore: run.hasMore,
        },
        // Every call moves the day's cursor forward (past failed users too), so a continuation always progresses.
        hasMore: run.hasMore,
      };
    },
    counts: (run) => run.results,
    preview: (run) => (run.preview ? { what: 'grants it would write', total: run.results.successful, rows: run.preview } : null),
  }),

  // GET|POST /api/jobs/credits/expire - the daily expiry job
  expire: defineJob('expire', {
    // `limit`: due batches looked at in this call (1…100 000); unset, only the time budget stops a call,
    // and a call that ends with `hasMore` continues itself (see continuation.ts). With a limit it never does.
    query: z.object({
      limit: clampedInt(1, 100_000).optional(),
      dryRun: flag.optional(),
    }),
    run: (db, p) => expireCredits(db, { ...options(p), limit: p.query.limit, dryRun: p.query.dryRun }),
    respond: (run) => {
      // `failed` (docs/cron.md): without it, a batch that could not be expired would be invisible.
      // `releasedHolds`, `totalReleasedAmount`: holds whose time ran out, released before the batches expire.
      const { processedBatches, processedUsers, totalExpiredAmount, failed, releasedHolds, totalReleasedAmount } = run.results;
      return {
        body: {
          success: true,
          jobId: run.jobId,
          duration: run.durationMs,
          results: { processedBatches, processedUsers, totalExpiredAmount, failed, releasedHolds, totalReleasedAmount },
          hasMore: run.hasMore,
        },
        hasMore: run.hasMore,
        // A call that expired nothing does not continue: a failed batch stays due, and the next call would
        // meet the same ones first; batches another call took are that call's to finish.
        progressed: processedBatches + releasedHolds > 0,
      };
    },
    counts: (run) => run.results,
    preview: (run) =>
      run.preview
        ? { what: 'batches it would expire, with what each would lose', total: run.results.processedBatches, rows: run.preview }
        : null,
  }),

  // GET|POST /api/cron/subscription-grants - pays out due installments of yearly plans
  'subscription-grants': defineJob('subscription-grants', {
    // The bounds of docs/cron.md: schedules per call 1…500, installments per schedule per call 1…36 (default 12).
    // No `limit` (what a once-a-day scheduler sends): only the time budget stops a call, and a call that
    // ends with `hasMore` continues itself (see continuation.ts), so one daily call pays every due
    // installment. A fixed default of 50 schedules fell further behind every day on a busy install.
    // With a limit the call never continues itself: the caller asked for a small call.
    query: z.object({
      limit: clampedInt(1, 500).optional(),
      catchUp: clampedInt(1, 36).default(12),
      dryRun: flag.optional(),
    }),
    run: (db, p) => processDueSchedules(db, { ...options(p), ...p.query }),
    // `failed` (docs/cron.md): without it, a schedule that could not be paid would be invisible.
    respond: (run) => ({
      body: {
        processed: run.processed,
        schedulesTouched: run.schedulesTouched,
        failed: run.failed,
        jobId: run.jobId,
        duration: run.durationMs,
        hasMore: run.hasMore,
        grants: run.grants,
      },
      hasMore: run.hasMore,
      // A call that paid nothing does not continue: the due schedules it met were held by another call
      // (`SKIP LOCKED`), which carries on, or failed, and the next call would take the same ones first.
      progressed: run.processed + run.schedulesTouched > 0,
    }),
    counts: (run) => ({ processed: run.processed, schedulesTouched: run.schedulesTouched, failed: run.failed }),
    preview: (run, query) =>
      query.dryRun
        ? {
            what: 'schedules it would pay, with their installments and credits',
            total: run.schedulesTouched,
            rows: run.grants.slice(0, DRY_RUN_PREVIEW_SIZE).map((g) => ({
              userId: g.userId,
              subscriptionId: g.subscriptionId,
              scheduleId: g.scheduleId,
              installments: g.grantsProcessed,
              credits: g.totalGranted,
            })),
          }
        : null,
  }),

  // GET|POST /api/jobs/credits/expiring-soon - the daily "credits expiring soon" mail, once per batch
  'expiring-soon': defineJob('expiring-soon', {
    // `limit`: users looked at in this call (1…100 000); unset, only the time budget stops a call, and
    // a call that ends with `hasMore` continues itself (see continuation.ts). With a limit it never does.
    query: z.object({
      limit: clampedInt(1, 100_000).optional(),
      dryRun: flag.optional(),
    }),
    run: (db, p) => notifyExpiringCredits(db, { ...options(p), limit: p.query.limit, dryRun: p.query.dryRun }),
    respond: (run) => ({
      body: { success: true, jobId: run.jobId, duration: run.durationMs, results: run.results, hasMore: run.hasMore },
      hasMore: run.hasMore,
      // A call that mailed no one does not continue: the users it met failed (their batches stay due for
      // the next daily run) or were taken by another call.
      progressed: run.results.users > 0,
    }),
    counts: (run) => run.results,
    preview: (run) =>
      run.preview ? { what: 'batches it would name, with their users', total: run.results.batches, rows: run.preview } : null,
  }),
} satisfies { [J in JobName]: JobDefinition & { name: J } };
