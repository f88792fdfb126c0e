import 'server-only';
import { env } from '@/env';
import { getDb } from '@/lib/server/db';
import type { JobDefinition } from '@/lib/server/jobs/registry';
import { runContinuable } from './continuation';
import { withCronAuth } from './cron-auth';
import { parseQuery } from './query';
import { invalidQuery, methodNotAllowed } from './responses';

/**
 * The handlers of a job's cron route: auth → the job's query → its usecase → its answer, continued by
 * itself when work is left (see continuation.ts). `GET` and `POST` run the job; every other method is 405.
 * `maxDuration` is the route file's own export (Next reads it there, as a literal): a link waits up to
 * the rest of it for the next link's answer.
 */
export function cronJobRoute(job: JobDefinition, route: { maxDuration: number }) {
  const handler = withCronAuth(async ({ req, trigger, jobId }) => {
    const query = parseQuery(req, job.query);
    if (!query.ok) return invalidQuery(query.details);
    const { CRON_TIME_BUDGET_MS, CREDITS_CHUNK_SIZE } = env();
    const continuable = query.data.limit === undefined && !query.data.dryRun;
    return runContinuable({ req, jobId, job: job.name, continuable, maxDurationSeconds: route.maxDuration }, async () => {
      const run = await job.run(await getDb(), {
        trigger,
        jobId,
        query: query.data,
        timeBudgetMs: CRON_TIME_BUDGET_MS,
        chunkSize: CREDITS_CHUNK_SIZE,
      });
      return job.respond(run);
    });
  });
  return {
    GET: handler,
    POST: handler,
    PUT: methodNotAllowed,
    PATCH: methodNotAllowed,
    DELETE: methodNotAllowed,
    HEAD: methodNotAllowed,
    OPTIONS: methodNotAllowed,
  };
}
