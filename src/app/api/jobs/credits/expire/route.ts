import { z } from 'zod';
import { env } from '@/env';
import { getDb } from '@/lib/server/db';
import { runContinuable } from '@/lib/server/http/continuation';
import { withCronAuth } from '@/lib/server/http/cron-auth';
import { clampedInt, flag, parseQuery } from '@/lib/server/http/query';
import { invalidQuery, methodNotAllowed } from '@/lib/server/http/responses';
import { expireCredits } from '@/lib/server/usecases/expire-credits';

// Node.js is Next's default runtime; said here because postgres.js and PGlite need it. (If Cache
// Components is ever enabled, delete this line: that mode refuses the `runtime` export.)
export const runtime = 'nodejs';
// Seconds; the job itself stops starting chunks after CRON_TIME_BUDGET_MS and answers `hasMore`.
// A call that continues itself waits up to the rest of this for the next link's answer.
export const maxDuration = 60;

// `limit`: due batches looked at in this call (1…100 000); unset, only the time budget stops a call,
// and a call that ends with `hasMore` continues itself (see continuation.ts). With a limit it never does.
const querySchema = z.object({
  limit: clampedInt(1, 100_000).optional(),
  dryRun: flag.optional(),
});

// GET|POST /api/jobs/credits/expire - the daily expiry job
const expire = withCronAuth(async ({ req, trigger, jobId }) => {
  const query = parseQuery(req, querySchema);
  if (!query.ok) return invalidQuery(query.details);
  const { CRON_TIME_BUDGET_MS, CREDITS_CHUNK_SIZE } = env();
  const continuable = query.data.limit === undefined && !query.data.dryRun;
  return runContinuable({ req, jobId, job: 'expire', continuable, maxDurationSeconds: maxDuration }, async () => {
    const run = await expireCredits(await getDb(), {
      trigger,
      jobId,
      limit: query.data.limit,
      dryRun: query.data.dryRun,
      timeBudgetMs: CRON_TIME_BUDGET_MS,
      chunkSize: CREDITS_CHUNK_SIZE,
    });
    // `failed` is not in the contract's example: without it, a batch that could not be expired would be invisible.
    const { processedBatches, processedUsers, totalExpiredAmount, failed } = run.results;
    return {
      body: {
        success: true,
        jobId: run.jobId,
        duration: run.durationMs,
        results: { processedBatches, processedUsers, totalExpiredAmount, failed },
        hasMore: run.hasMore,
      },
      hasMore: run.hasMore,
      // A call that expired nothing does not continue: a failed batch stays due, and the next call would
      // meet the same ones first; batches another call took are that call's to finish.
      progressed: processedBatches > 0,
    };
  });
});

export const GET = expire;
export const POST = expire;
export const PUT = methodNotAllowed;
export const PATCH = methodNotAllowed;
export const DELETE = methodNotAllowed;
export const HEAD = methodNotAllowed;
export const OPTIONS = methodNotAllowed;
