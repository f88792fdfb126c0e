import 'server-only';
import { randomUUID } from 'node:crypto';
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { jobRuns, type JobName, type JobTrigger } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { isConnectionError, isRetryableDbError, transaction } from '@/lib/server/db/sql';
import { jobCatalog } from '@/lib/server/jobs/catalog';

export type JobOptions = {
  trigger: JobTrigger;
  now?: Date;
  dryRun?: boolean;
  /** Stop starting new chunks after this many ms (the call then reports `hasMore: true`). */
  timeBudgetMs?: number;
  chunkSize?: number;
  /** Called after each chunk, for progress lines in scripts. */
  onChunk?: (progress: Record<string, number>) => void;
  /** Lets a caller know the id before the run row exists (routes answer it even when the database is down). */
  jobId?: string;
};

export type JobContext = {
  jobId: string;
  now: Date;
  dryRun: boolean;
  chunkSize: number;
  /** True once the time budget is spent: start no new chunk. Asked once before each chunk; never true before the first. */
  outOfTime(): boolean;
};

export type JobOutcome<R> = {
  results: R;
  /** What the job-run row keeps, when not all of `results` (a per-schedule list belongs to the answer, not the log). */
  recorded?: Record<string, unknown>;
  hasMore: boolean;
  cursor?: string | null;
  referenceDate?: string;
};

/**
 * What a job's usecase answers from its run: the run's id and time, its counts, whether work is left,
 * and, in a dry run, the first rows it would have written. The run's other fields (cursor, what the
 * run row keeps) stay with the runner.
 */
export function jobAnswer<R, P>(
  run: { jobId: string; durationMs: number; results: R; hasMore: boolean },
  dryRun: boolean | undefined,
  preview: P[],
): { jobId: string; durationMs: number; results: R; hasMore: boolean; preview?: P[] } {
  return { jobId: run.jobId, durationMs: run.durationMs, results: run.results, hasMore: run.hasMore, ...(dryRun ? { preview } : {}) };
}

/**
 * A run still `running` after this long is taken for dead (its process killed: a deploy, a platform
 * timeout). Every route call stops well before it; a CLI backfill that runs longer is still shown stale.
 */
export const RUN_PRESUMED_DEAD_AFTER_MS = 15 * 60_000;

/** How many rows a dry run names (grants, batches, schedules); its counts cover them all. */
export const DRY_RUN_PREVIEW_SIZE = 20;

export class JobFailedError extends Error {
  readonly code = 'JOB_FAILED' as const;
  constructor(
    readonly jobId: string,
    readonly databaseUnavailable: boolean,
    options: { cause: unknown },
  ) {
    super(`Job ${jobId} failed`, options);
  }
}

/**
 * Records a job run around `work`: a `running` row first (its own statement, so it survives a
 * failure of the work), then `succeeded` with the results or `failed` with the error.
 */
export async function runJob<R extends object>(
  db: Database,
  job: JobName,
  options: JobOptions,
  params: Record<string, unknown>,
  work: (ctx: JobContext) => Promise<JobOutcome<R>>,
): Promise<{ jobId: string; durationMs: number } & JobOutcome<R>> {
  const jobId = options.jobId ?? randomUUID();
  const now = options.now ?? new Date();
  const startedAt = Date.now();
  const { label, what } = jobCatalog[job].log;
  const timeBudgetMs = options.timeBudgetMs ?? 20_000;
  console.log(`[${label} ${jobId}] Starting ${what}${options.dryRun ? ' (dry run)' : ''}`);
  try {
    await recordPendingFailures(db);
    await db.execute(
      inlined(
        db
          .insert(jobRuns)
          .values({ id: jobId, job, trigger: options.trigger, dryRun: options.dryRun ?? false, params, startedAt: new Date(startedAt) }),
      ),
    );
    // The first chunk of a call always runs: a budget spent before any work (a slow start, a tiny
    // setting) would otherwise answer `hasMore: true` forever without moving.
    let firstChunk = true;
    const outcome = await work({
      jobId,
      now,
      dryRun: options.dryRun ?? false,
      chunkSize: options.chunkSize ?? 1_000,
      outOfTime: () => {
        if (firstChunk) return (firstChunk = false);
        return Date.now() - startedAt >= timeBudgetMs;
      },
    });
    const durationMs = Date.now() - startedAt;
    await db.execute(
      inlined(
        db
          .update(jobRuns)
          .set({
            status: 'succeeded',
            results: outcome.recorded ?? (outcome.results as Record<string, unknown>),
            hasMore: outcome.hasMore,
            cursor: outcome.cursor ?? null,
            referenceDate: outcome.referenceDate ?? null,
            finishedAt: new Date(),
          })
          .where(eq(jobRuns.id, jobId)),
      ),
    );
    // Each job's own summary of its results (the catalog types it for that job's results).
    const counts = (jobCatalog[job].summary as (results: R) => string)(outcome.results);
    console.log(`[${label} ${jobId}] Completed in ${durationMs}ms. ${counts}${outcome.hasMore ? ' (more work remains)' : ''}`);
    return { jobId, durationMs, ...outcome };
  } catch (error) {
    const databaseUnavailable = isConnectionError(error);
    console.error(`[${label} ${jobId}] Failed after ${Date.now() - startedAt}ms:`, error);
    const failure = { status: 'failed' as const, error: errorMessage(error), finishedAt: new Date() };
    await db
      .update(jobRuns)
      .set(failure)
      .where(eq(jobRuns.id, jobId))
      .catch(() => {
        // The database is gone: the next run in this process records the failure once it is back.
        // (A process that dies first leaves the row `running`; the health route shows it as stale.)
        pendingFailures.set(jobId, failure);
      });
    throw new JobFailedError(jobId, databaseUnavailable, { cause: error });
  }
}

/**
 * A statement with its values written into its text (quoted and escaped by drizzle) instead of sent as
 * parameters. postgres.js sends a parameterized statement that is not prepared in two round trips
 * (it asks the server for the parameter types first) and waits for each one before sending the next;
 * an inlined one takes one round trip and can follow another without waiting. For the job runner's
 * own statements (the run row, a chunk's locks and its statement), whose values are ids, timestamps,
 * numbers and JSON built here; never for text a caller typed.
 */
export function inlined(query: SQL | { getSQL(): SQL }): SQL {
  return ('getSQL' in query ? query.getSQL() : query).inlineParams();
}

type Failure = { status: 'failed'; error: string; finishedAt: Date };
const pendingFailures = new Map<string, Failure>();

/** Writes the failures that could not be recorded while the database was unreachable. */
async function recordPendingFailures(db: Database) {
  for (const [jobId, failure] of pendingFailures) {
    await db
      .update(jobRuns)
      .set(failure)
      .where(and(eq(jobRuns.id, jobId), eq(jobRuns.status, 'running')));
    pendingFailures.delete(jobId);
  }
}

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.slice(0, 2_000);
}

/** `synchronous_commit = off` for the current transaction (see jobTransaction). Starts the statement at once. */
function relaxCommit(tx: Database): Promise<unknown> {
  return tx.execute(sql`select set_config('synchronous_commit', 'off', true)`).then(() => undefined);
}

/**
 * Locks the balance rows of a chunk's users (creating missing ones), in user id order, then runs the
 * chunk's statement, as `lockBalances` then the statement would, but without waiting for each answer
 * before sending the next: the three statements go out together on the transaction's connection and
 * the server runs them in order (a lock it must wait for holds back the statement behind it). Two
 * round trips fewer per chunk. `statement` must send its query before its first `await`, and inline its
 * values (`inlined`): a statement sent with parameters waits for the ones before it.
 */
export async function withBalancesLocked<T>(tx: Database, userIds: string[], statement: () => Promise<T>): Promise<T> {
  if (userIds.length === 0) return statement();
  const ids = JSON.stringify(userIds);
  const created = tx.execute(
    inlined(sql`
    insert into credit_balances (user_id)
    select value from jsonb_array_elements_text(${ids}::jsonb)
    on conflict do nothing`),
  );
  const locked = tx.execute(
    inlined(sql`
    select user_id from credit_balances
     where user_id in (select value from jsonb_array_elements_text(${ids}::jsonb))
     order by user_id for update`),
  );
  // `then` starts each query now, in this order; Promise.all would start them a microtask later.
  const [, , value] = await Promise.all([created.then(() => undefined), locked.then(() => undefined), statement()]);
  return value;
}

class DryRunRollback extends Error {
  constructor(readonly value: unknown) {
    super('dry run rollback');
  }
}

/**
 * Runs `fn` in a transaction that a dry run rolls back at the end: the work is done in full, so its
 * counts are exactly what a real run would report, and nothing is kept.
 *
 * A job's chunk commits without waiting for its WAL to reach the disk (`synchronous_commit` off for
 * this transaction only): with a hundred chunks a call, that wait was a few ms each. Nothing reported
 * is less durable for it. The run's final write in `runJob` (and any consumption in between) commits
 * synchronously, which flushes every chunk before it, so a route answers only once its chunks are on
 * disk. What a crash of the database server can lose is the last chunks of a run that had not finished
 * anyway (its row stays `running`); they are still due, and the next call does them again.
 */
export async function jobTransaction<T>(db: Database, ctx: Pick<JobContext, 'dryRun'>, fn: (tx: Database) => Promise<T>): Promise<T> {
  try {
    return await transaction(db, async (tx) => {
      // Sent without waiting for its answer: it only has to run before the commit, and the chunk's
      // statements follow it on the same connection.
      const [, value] = await Promise.all([relaxCommit(tx), fn(tx)]);
      if (ctx.dryRun) throw new DryRunRollback(value);
      return value;
    });
  } catch (error) {
    if (error instanceof DryRunRollback) return error.value as T;
    throw error;
  }
}

/**
 * Runs one chunk's writes in a job transaction. If the chunk fails (a bad row), it is retried one item
 * at a time inside savepoints: the bad items are counted as failed and the others still land. A lost
 * connection, a deadlock or a serialization failure is not a bad row: it is thrown (the latter two
 * after `transaction` has retried them).
 */
export async function writeChunk<I, R>(
  db: Database,
  ctx: Pick<JobContext, 'dryRun'>,
  items: I[],
  write: (tx: Database, items: I[]) => Promise<R>,
): Promise<{ results: R[]; failed: I[] }> {
  try {
    return { results: [await jobTransaction(db, ctx, (tx) => write(tx, items))], failed: [] };
  } catch (error) {
    if (isConnectionError(error) || isRetryableDbError(error) || items.length === 0) throw error;
    if (items.length === 1) {
      console.error('[credits] item failed and was skipped:', error);
      return { results: [], failed: items };
    }
    console.error(`[credits] chunk of ${items.length} failed, retrying item by item:`, error);
  }
  return jobTransaction(db, ctx, async (tx) => {
    const results: R[] = [];
    const failed: I[] = [];
    for (const item of items) {
      try {
        results.push(await tx.transaction((savepoint) => write(savepoint as unknown as Database, [item])));
      } catch (error) {
        // A lost connection ends the run; a deadlock or serialization failure retries the whole
        // transaction (`transaction` does), instead of counting an item that is fine as failed.
        if (isConnectionError(error) || isRetryableDbError(error)) throw error;
        console.error('[credits] item failed and was skipped:', error);
        failed.push(item);
      }
    }
    return { results, failed };
  });
}
