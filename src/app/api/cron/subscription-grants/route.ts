import { z } from 'zod';
import { env } from '@/env';
import { getDb } from '@/lib/server/db';
import { withCronAuth } from '@/lib/server/http/cron-auth';
import { clampedInt, flag, parseQuery } from '@/lib/server/http/query';
import { invalidQuery, json, methodNotAllowed } from '@/lib/server/http/responses';
import { processDueSchedules } from '@/lib/server/usecases/process-due-schedules';

// Node.js is Next's default runtime; said here because postgres.js and PGlite need it. (If Cache
// Components is ever enabled, delete this line: that mode refuses the `runtime` export.)
export const runtime = 'nodejs';
// Seconds; the job itself stops starting chunks after CRON_TIME_BUDGET_MS and answers `hasMore`.
export const maxDuration = 60;

// The contract's bounds: schedules per call 1…500 (default 50), installments per schedule per call 1…36 (default 12).
const querySchema = z.object({
  limit: clampedInt(1, 500).default(50),
  catchUp: clampedInt(1, 36).default(12),
  dryRun: flag.optional(),
});

// GET|POST /api/cron/subscription-grants - pays out due installments of yearly plans
const subscriptionGrants = withCronAuth(async ({ req, trigger, jobId }) => {
  const query = parseQuery(req, querySchema);
  if (!query.ok) return invalidQuery(query.details);
  const { CRON_TIME_BUDGET_MS, CREDITS_CHUNK_SIZE } = env();
  const run = await processDueSchedules(await getDb(), {
    trigger,
    jobId,
    ...query.data,
    timeBudgetMs: CRON_TIME_BUDGET_MS,
    chunkSize: CREDITS_CHUNK_SIZE,
  });
  // `failed` is not in the contract's example: without it, a schedule that could not be paid would be invisible.
  return json({
    processed: run.processed,
    schedulesTouched: run.schedulesTouched,
    failed: run.failed,
    jobId: run.jobId,
    duration: run.durationMs,
    hasMore: run.hasMore,
    grants: run.grants,
  });
});

export const GET = subscriptionGrants;
export const POST = subscriptionGrants;
export const PUT = methodNotAllowed;
export const PATCH = methodNotAllowed;
export const DELETE = methodNotAllowed;
export const HEAD = methodNotAllowed;
export const OPTIONS = methodNotAllowed;
