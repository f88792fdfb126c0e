import { z } from 'zod';
import { env } from '@/env';
import { getDb } from '@/lib/server/db';
import { runContinuable } from '@/lib/server/http/continuation';
import { withCronAuth } from '@/lib/server/http/cron-auth';
import { clampedInt, flag, parseQuery } from '@/lib/server/http/query';
import { invalidQuery, methodNotAllowed } from '@/lib/server/http/responses';
import { processDueSchedules } from '@/lib/server/usecases/process-due-schedules';

// Node.js is Next's default runtime; said here because postgres.js and PGlite need it. (If Cache
// Components is ever enabled, delete this line: that mode refuses the `runtime` export.)
export const runtime = 'nodejs';
// Seconds; the job itself stops starting chunks after CRON_TIME_BUDGET_MS and answers `hasMore`.
// A call that continues itself waits up to the rest of this for the next link's answer.
export const maxDuration = 60;

// The contract's bounds: schedules per call 1…500, installments per schedule per call 1…36 (default 12).
// No `limit` (what a once-a-day scheduler sends): only the time budget stops a call, and a call that
// ends with `hasMore` continues itself (see continuation.ts), so one daily call pays every due
// installment. A fixed default of 50 schedules fell further behind every day on a busy install.
// With a limit the call never continues itself: the caller asked for a small call.
const querySchema = z.object({
  limit: clampedInt(1, 500).optional(),
  catchUp: clampedInt(1, 36).default(12),
  dryRun: flag.optional(),
});

// GET|POST /api/cron/subscription-grants - pays out due installments of yearly plans
const subscriptionGrants = withCronAuth(async ({ req, trigger, jobId }) => {
  const query = parseQuery(req, querySchema);
  if (!query.ok) return invalidQuery(query.details);
  const { CRON_TIME_BUDGET_MS, CREDITS_CHUNK_SIZE } = env();
  const continuable = query.data.limit === undefined && !query.data.dryRun;
  return runContinuable({ req, jobId, job: 'subscription-grants', continuable, maxDurationSeconds: maxDuration }, async () => {
    const run = await processDueSchedules(await getDb(), {
      trigger,
      jobId,
      ...query.data,
      timeBudgetMs: CRON_TIME_BUDGET_MS,
      chunkSize: CREDITS_CHUNK_SIZE,
    });
    // `failed` is not in the contract's example: without it, a schedule that could not be paid would be invisible.
    return {
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
    };
  });
});

export const GET = subscriptionGrants;
export const POST = subscriptionGrants;
export const PUT = methodNotAllowed;
export const PATCH = methodNotAllowed;
export const DELETE = methodNotAllowed;
export const HEAD = methodNotAllowed;
export const OPTIONS = methodNotAllowed;
