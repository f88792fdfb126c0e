import 'server-only';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { jobRuns, type CreditBatch, type JobRun } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { queryRows, transaction } from '@/lib/server/db/sql';
import { lockBalances } from '@/lib/server/credits/balances';
import { creditKeysSql } from '@/lib/server/credits/keys';
import { postLostCredits } from '@/lib/server/credits/posting';
import { RUN_PRESUMED_DEAD_AFTER_MS } from '@/lib/server/credits/job-runner';

export type VoidJobRunParams = {
  jobRunId: string;
  /** Why the run is voided, kept in each entry's metadata. */
  reason?: string;
  actor?: string;
  /** Report what would be voided and write nothing. */
  dryRun?: boolean;
  /**
   * Void a run that is still \`running\` but presumed dead (started more than RUN_PRESUMED_DEAD_AFTER_MS
   * ago: its process was killed). It is marked failed first. Never for a run whose process may be alive:
   * chunks it commits after the void would keep their credits.
   */
  force?: boolean;
  /** Void (or preview) this user's batches of the run only; the others stay as they are. */
  userId?: string;
  /** How many of the batches a dry run lists by name (the totals count them all). */
  previewSize?: number;
  /** Users per transaction. */
  chunkSize?: number;
  /** Called after each chunk, for progress lines in scripts (a void of a run over a million users takes a while). */
  onChunk?: (progress: { users: number; batches: number; voidedAmount: number }) => void;
  now?: Date;
};

/** A batch a void would take credits from, as a dry run lists it. */
export type VoidPreviewBatch = { userId: string; email: string; batchId: number; source: string; remaining: number };

export type VoidJobRunResult =
  | {
      ok: true;
      jobRunId: string;
      job: JobRun['job'];
      dryRun: boolean;
      /** True when an earlier void had already taken everything this one found: `results` are what the voids took. */
      replayed: boolean;
      /**
       * Batches that lost credits, the users they belong to, and the credits taken, by every void of this
       * run so far (a dry run: what a void would take now).
       */
      results: { batches: number; users: number; voidedAmount: number };
      /** A dry run: the first `previewSize` batches it would void, in the order a void takes them. */
      preview?: VoidPreviewBatch[];
    }
  | { ok: false; reason: 'not_found' | 'not_a_grant_run' | 'invalid_job_run_id' | 'run_in_progress'; message: string };

type Counts = { batches: number; users: number; amount: number };

// Any 8-4-4-4-12 hex id, as Postgres' uuid type accepts (z.uuid() would also demand an RFC version digit).
const jobRunIdSchema = z.guid();

/**
 * Takes back what a job run granted and nobody has spent yet: each batch the run created that is
 * still live loses its `remaining` through one `void` ledger entry (key `void:{jobRunId}:{batchId}`).
 * Rows are never deleted; the batch keeps its amount and its grant entry, so the history still shows
 * what was granted, then voided. Void counts as consumed in the balance totals, which keeps
 * `balance = total_granted - total_consumed - total_expired` true.
 *
 * Not voided: credits already spent, batches already expired, and batches past their expiry that the
 * expire job has not reached yet (they are the expire job's to record). Voiding twice changes nothing:
 * a voided batch has nothing left. Voiding does not rewind schedules or billing periods: their keys
 * stay used, so the jobs will not grant those credits again.
 *
 * Users are handled in id order, one transaction per chunk, balance rows locked before batches
 * (the locking order of docs/credits.md), so a void running next to the jobs or a consumption never deadlocks.
 */
export async function voidJobRun(db: Database, params: VoidJobRunParams): Promise<VoidJobRunResult> {
  if (!jobRunIdSchema.safeParse(params.jobRunId).success) {
    return { ok: false, reason: 'invalid_job_run_id', message: `"${params.jobRunId}" is not a job run id (a UUID)` };
  }
  const [run] = await db.select().from(jobRuns).where(eq(jobRuns.id, params.jobRunId));
  if (!run) return { ok: false, reason: 'not_found', message: `No job run "${params.jobRunId}"` };
  if (run.job === 'expire') {
    return { ok: false, reason: 'not_a_grant_run', message: `Job run ${run.id} is an expire run: it granted nothing to void` };
  }
  const now = params.now ?? new Date();
  // Chunks a running run commits after the void would keep their credits: wait for it to finish. A run
  // whose process died stays \`running\` for ever: past RUN_PRESUMED_DEAD_AFTER_MS, \`force\` marks it failed and voids it.
  if (run.status === 'running') {
    const presumedDead = now.getTime() - run.startedAt.getTime() > RUN_PRESUMED_DEAD_AFTER_MS;
    if (!params.force || !presumedDead) {
      return {
        ok: false,
        reason: 'run_in_progress',
        message: presumedDead
          ? `Job run ${run.id} is still marked running but started ${Math.round((now.getTime() - run.startedAt.getTime()) / 60_000)} min ago: if its process is gone, void it with force (--force)`
          : `Job run ${run.id} is still running: void it once it has finished`,
      };
    }
    if (!params.dryRun) {
      await db
        .update(jobRuns)
        .set({ status: 'failed', error: 'presumed dead: voided while still marked running', finishedAt: now })
        .where(and(eq(jobRuns.id, run.id), eq(jobRuns.status, 'running')));
    }
  }
  const dryRun = params.dryRun ?? false;
  const chunkSize = params.chunkSize ?? 1_000;
  const totals: Counts = { batches: 0, users: 0, amount: 0 };
  let after = '';
  for (;;) {
    const userIds = await usersWithLiveBatches(db, { jobRunId: run.id, now, after, size: chunkSize, userId: params.userId });
    if (userIds.length === 0) break;
    const counts = dryRun
      ? await countChunk(db, { jobRunId: run.id, userIds, now })
      : await transaction(db, (tx) => voidChunk(tx, { jobRunId: run.id, userIds, now, reason: params.reason, actor: params.actor }));
    totals.batches += counts.batches;
    totals.users += counts.users;
    totals.amount += Number(counts.amount);
    after = userIds[userIds.length - 1]!;
    params.onChunk?.({ users: totals.users, batches: totals.batches, voidedAmount: totals.amount });
    if (userIds.length < chunkSize) break;
  }
  if (dryRun) {
    const preview = await previewBatches(db, { jobRunId: run.id, now, userId: params.userId, size: params.previewSize ?? 20 });
    return {
      ok: true,
      jobRunId: run.id,
      job: run.job,
      dryRun,
      replayed: false,
      results: { batches: totals.batches, users: totals.users, voidedAmount: totals.amount },
      preview,
    };
  }
  // The outcome of every void of this run, this one included: a second void reports what the first took.
  const [voided] = await queryRows<Counts>(
    db,
    sql`select count(*)::int as batches, count(distinct user_id)::int as users, coalesce(-sum(delta), 0)::bigint as amount
          from credit_ledger where kind = 'void' and metadata->>'voidedJobRunId' = ${run.id}
           ${params.userId === undefined ? sql`` : sql`and user_id = ${params.userId}`}`,
  );
  return {
    ok: true,
    jobRunId: run.id,
    job: run.job,
    dryRun,
    replayed: totals.batches === 0 && voided!.batches > 0,
    results: { batches: voided!.batches, users: voided!.users, voidedAmount: voided!.amount },
  };
}

/**
 * A batch the run granted that has not expired and still has credits nobody has spent: left in it, or
 * held by a hold (which this void has not yet been told to wait for).
 */
const liveBatchOfRun = (jobRunId: string, now: Date) => sql`
  job_run_id = ${jobRunId}::uuid and expired_at is null
  and (expires_at is null or expires_at > ${now.toISOString()}::timestamptz)
  and (remaining > 0 or (credits_batch_held(user_id, id) > 0
       and not exists (select 1 from credit_take_backs tb
                        where tb.batch_id = credit_batches.id and tb.operation_key = ${creditKeysSql.void(jobRunId, sql`credit_batches.id`)})))`;

async function usersWithLiveBatches(
  db: Database,
  p: { jobRunId: string; now: Date; after: string; size: number; userId: string | undefined },
): Promise<string[]> {
  const rows = await queryRows<Pick<CreditBatch, 'userId'>>(
    db,
    sql`select distinct user_id as "userId" from credit_batches
         where ${liveBatchOfRun(p.jobRunId, p.now)} and user_id > ${p.after}
           ${p.userId === undefined ? sql`` : sql`and user_id = ${p.userId}`}
         order by user_id limit ${p.size}`,
  );
  return rows.map((row) => row.userId);
}

async function previewBatches(
  db: Database,
  p: { jobRunId: string; now: Date; userId: string | undefined; size: number },
): Promise<VoidPreviewBatch[]> {
  const rows = await queryRows<VoidPreviewBatch>(
    db,
    // No alias and no join: `liveBatchOfRun` names credit_batches' columns bare (a join with users would make `id` ambiguous).
    sql`select user_id as "userId", (select u.email from users u where u.id = credit_batches.user_id) as email,
               id as "batchId", source, remaining
          from credit_batches
         where ${liveBatchOfRun(p.jobRunId, p.now)}
           ${p.userId === undefined ? sql`` : sql`and user_id = ${p.userId}`}
         order by user_id, id limit ${p.size}`,
  );
  return rows.map((row) => ({ ...row, batchId: Number(row.batchId), remaining: Number(row.remaining) }));
}

async function countChunk(db: Database, p: { jobRunId: string; userIds: string[]; now: Date }): Promise<Counts> {
  const [row] = await queryRows<Counts>(
    db,
    sql`select count(*)::int as batches, count(distinct user_id)::int as users, coalesce(sum(remaining), 0)::bigint as amount
          from credit_batches
         where ${liveBatchOfRun(p.jobRunId, p.now)}
           and user_id in (select value from jsonb_array_elements_text(${JSON.stringify(p.userIds)}::jsonb))`,
  );
  return row!;
}

async function voidChunk(
  tx: Database,
  p: { jobRunId: string; userIds: string[]; now: Date; reason?: string; actor?: string },
): Promise<Counts> {
  await lockBalances(tx, p.userIds);
  const now = p.now.toISOString();
  const metadata = JSON.stringify({
    voidedJobRunId: p.jobRunId,
    ...(p.reason ? { reason: p.reason } : {}),
    ...(p.actor ? { actor: p.actor } : {}),
  });
  const [row] = await queryRows<Counts>(
    tx,
    // Batches are locked after the balances and re-checked under the lock: a consumption that got
    // there first has already taken its share, and a second void finds nothing left.
    sql`
    with locked as (
      select id, user_id, remaining from credit_batches
       where ${liveBatchOfRun(p.jobRunId, p.now)}
         and user_id in (select value from jsonb_array_elements_text(${JSON.stringify(p.userIds)}::jsonb))
         and not exists (select 1 from credit_ledger l where l.operation_key = ${creditKeysSql.void(p.jobRunId, sql`credit_batches.id`)})
       order by user_id, id
       for update
    ), voided as (
      update credit_batches b set remaining = 0
        from locked l where b.id = l.id
      returning b.id, b.user_id, l.remaining as lost
    ), owed as (
      -- Credits a hold has are owed to the void: the hold's release takes them back (a capture spends them).
      insert into credit_take_backs (batch_id, user_id, operation_key, kind, amount, pending, metadata, created_at)
      select l.id, l.user_id, ${creditKeysSql.void(p.jobRunId, sql`l.id`)}, 'void', o.owable, o.owable, ${metadata}::jsonb, ${now}::timestamptz
        from locked l
       cross join lateral (
         select credits_batch_held(l.user_id, l.id)
                - coalesce((select sum(pending) from credit_take_backs tb where tb.batch_id = l.id), 0) as owable) o
       where o.owable > 0
      on conflict (batch_id, operation_key) do nothing
    ), lost as (
      select * from voided where lost > 0
    ), ${postLostCredits({
      kind: 'void',
      key: (batchId) => creditKeysSql.void(p.jobRunId, batchId),
      total: 'total_consumed',
      jobId: null,
      metadata,
      now,
    })}
    select (select count(*) from voided)::int as batches,
           (select count(distinct user_id) from voided)::int as users,
           coalesce((select sum(lost) from voided), 0)::bigint as amount`,
  );
  return row!;
}
