import 'server-only';
import { sql } from 'drizzle-orm';
import type { Database } from '@/lib/server/db/types';
import type { CreditSchedule } from '@/lib/server/db/schema';
import { queryRows } from '@/lib/server/db/sql';
import { postGrantedBatches } from '@/lib/server/credits/posting';
import { creditKeysSql } from '@/lib/server/credits/keys';
import { inlined, jobTransaction, runJob, withBalancesLocked, writeChunk, type JobOptions } from '@/lib/server/credits/job-runner';
import { planEnds } from '@/lib/server/credits/plans-in-force';

export type ProcessDueSchedulesParams = JobOptions & {
  /** Schedules per call (the route clamps it to 1…500); unset, only the time budget stops a call. */
  limit?: number;
  /** Installments granted per schedule per call, for catching up after an outage (the route clamps it to 1…36). */
  catchUp?: number;
};

export type ScheduleGrant = {
  scheduleId: string;
  subscriptionId: string;
  userId: string;
  totalGranted: number;
  grantsProcessed: number;
  remainingGrants: number;
};

export type ProcessDueSchedulesResult = {
  jobId: string;
  durationMs: number;
  processed: number;
  schedulesTouched: number;
  failed: number;
  grants: ScheduleGrant[];
  hasMore: boolean;
};

/**
 * The installment job: due schedules, oldest due first, taken `FOR UPDATE SKIP LOCKED` so that
 * overlapping calls share the work instead of waiting or doubling. Each gets up to `catchUp`
 * installments whose due date has come; installment n is due at `anchor + (n-1) × interval` months,
 * computed from the anchor so month ends never drift. A late installment's validity counts from when
 * it is granted: an outage never hands out credits that are already expired.
 */
export async function processDueSchedules(db: Database, params: ProcessDueSchedulesParams): Promise<ProcessDueSchedulesResult> {
  const limit = params.limit ?? Infinity;
  const catchUp = params.catchUp ?? 12;
  const run = await runJob(
    db,
    'subscription-grants',
    params,
    { limit: params.limit ?? null, catchUp, dryRun: params.dryRun ?? false },
    async (ctx) => {
      const grants: ScheduleGrant[] = [];
      let processed = 0;
      let failed = 0;
      let taken = 0;
      // Catch-up is per schedule per call, and a failed schedule (or any, in a dry run) stays due: take none twice.
      const takenIds = new Set<string>();
      const failedIds = new Set<string>();
      let stoppedEarly = false;
      for (;;) {
        if (ctx.outOfTime() || taken >= limit) {
          stoppedEarly = true;
          break;
        }
        const size = Math.min(ctx.chunkSize, limit - taken);
        // One transaction holds the schedules taken `FOR UPDATE SKIP LOCKED` while their installments are
        // written (a failing schedule is isolated in a savepoint inside it). A dry run only reads: a lock
        // of its own would make a real run at the same moment skip those schedules.
        const chunk = await jobTransaction(db, ctx, async (tx) => {
          const schedules = await takeDueSchedules(tx, ctx.now, size, takenIds, !ctx.dryRun);
          if (schedules.length === 0) return { schedules, grants: [] as ScheduleGrant[], processed: 0, chunkFailed: [] as string[] };
          if (ctx.dryRun) {
            const preview = await installmentsDue(tx, { schedules, now: ctx.now, catchUp });
            return { schedules, grants: preview.grants, processed: preview.processed, chunkFailed: [] as string[] };
          }
          const chunk = await writeChunk(tx, { dryRun: false }, schedules, (inner, ids) =>
            grantInstallments(inner, { schedules: ids, now: ctx.now, jobId: ctx.jobId, catchUp }),
          );
          return {
            schedules,
            grants: chunk.results.flatMap((r) => r.grants),
            processed: chunk.results.reduce((sum, r) => sum + r.processed, 0),
            chunkFailed: chunk.failed.map((s) => s.id),
          };
        });
        if (chunk.schedules.length === 0) break;
        // Only a schedule that may still be due must be skipped for the rest of the call: one that reached
        // `catchUp`, failed, or (dry run) was not written. A caught-up one is no longer due; leaving it out
        // keeps the skip list, sent with every chunk, from growing with the number of schedules.
        const caughtUp = new Set(ctx.dryRun ? [] : chunk.grants.filter((g) => g.grantsProcessed < catchUp).map((g) => g.scheduleId));
        for (const s of chunk.schedules) if (!caughtUp.has(s.id)) takenIds.add(s.id);
        for (const id of chunk.chunkFailed) failedIds.add(id);
        taken += chunk.schedules.length;
        processed += chunk.processed;
        failed += chunk.chunkFailed.length;
        grants.push(...chunk.grants);
        params.onChunk?.({ schedules: taken, installments: processed, failed });
        if (chunk.schedules.length < size) break;
      }
      // A real run leaves due only what it has not reached, schedules with more installments than
      // `catchUp`, and failed ones (not counted: retrying them at once would fail again).
      const hasMore = ctx.dryRun ? stoppedEarly && (await anyDue(db, ctx.now, takenIds)) : await anyDue(db, ctx.now, failedIds);
      return {
        results: { processed, schedulesTouched: grants.length, failed, grants },
        recorded: { processed, schedulesTouched: grants.length, failed },
        hasMore,
      };
    },
  );
  const { grants, processed, schedulesTouched, failed } = run.results;
  return { jobId: run.jobId, durationMs: run.durationMs, processed, schedulesTouched, failed, grants, hasMore: run.hasMore };
}

type DueSchedule = Pick<CreditSchedule, 'id' | 'userId'>;

async function takeDueSchedules(tx: Database, now: Date, size: number, skip: Set<string>, lock: boolean): Promise<DueSchedule[]> {
  return queryRows<DueSchedule>(
    tx,
    inlined(sql`select id::text as id, user_id as "userId" from credit_schedules
         where status = 'active' and next_due_at <= ${now.toISOString()}::timestamptz
           and not (id = any (select value::uuid from jsonb_array_elements_text(${JSON.stringify([...skip])}::jsonb)))
         order by next_due_at, id
         limit ${size}
         ${lock ? sql`for update skip locked` : sql``}`),
  );
}

async function anyDue(db: Database, now: Date, skip: Set<string>): Promise<boolean> {
  const rows = await queryRows<{ id: string }>(
    db,
    inlined(sql`select id from credit_schedules
         where status = 'active' and next_due_at <= ${now.toISOString()}::timestamptz
           and not (id = any (select value::uuid from jsonb_array_elements_text(${JSON.stringify([...skip])}::jsonb)))
         limit 1`),
  );
  return rows.length > 0;
}

/**
 * The installments of `schedules` that are due: up to `catchUp` each, whose date has come and, for a
 * plan that stopped (canceled, or its term over), fell before it stopped. Installment n is due at
 * `anchor + (n-1) × interval` months; the last one takes whatever remains.
 */
const dueInstallments = (p: { scheduleIds: string[]; now: string; catchUp: number }) => sql`
    s as (
      select cs.*, ${planEnds('sub')} as ends_at
        from credit_schedules cs join subscriptions sub on sub.id = cs.subscription_id
       where cs.id in (select value::uuid from jsonb_array_elements_text(${JSON.stringify(p.scheduleIds)}::jsonb))
         and cs.status = 'active'
    ), inst as (
      select s.id as schedule_id, s.user_id, s.subscription_id, s.category, s.validity_days, n,
             s.anchor_at + make_interval(months => (n - 1) * s.interval_months) as due_at,
             case when n = s.installments_total
                  then s.credits_remaining - s.credits_per_installment * (n - 1 - s.installments_done)
                  else s.credits_per_installment end as amount
        from s, lateral generate_series(s.installments_done + 1, least(s.installments_total, s.installments_done + ${p.catchUp}::int)) n
       where s.anchor_at + make_interval(months => (n - 1) * s.interval_months) <= ${p.now}::timestamptz
         and (s.ends_at is null or s.anchor_at + make_interval(months => (n - 1) * s.interval_months) < s.ends_at)
    )`;

/** What a dry run reports: the installments a real run would grant now, read without a lock or a write. */
async function installmentsDue(
  tx: Database,
  p: { schedules: DueSchedule[]; now: Date; catchUp: number },
): Promise<{ processed: number; grants: ScheduleGrant[] }> {
  const rows = await queryRows<ScheduleGrant>(
    tx,
    sql`with ${dueInstallments({ scheduleIds: p.schedules.map((s) => s.id), now: p.now.toISOString(), catchUp: p.catchUp })}
    select s.id::text as "scheduleId", s.subscription_id as "subscriptionId", s.user_id as "userId",
           sum(i.amount)::bigint as "totalGranted", count(*)::int as "grantsProcessed",
           (s.installments_total - s.installments_done - count(*))::int as "remainingGrants"
      from s join inst i on i.schedule_id = s.id
     where not exists (select 1 from credit_batches b where b.idempotency_key = ${creditKeysSql.installment(sql`i.schedule_id`, sql`i.n`)})
     group by s.id, s.subscription_id, s.user_id, s.installments_total, s.installments_done
     order by s.id`,
  );
  return { processed: rows.reduce((sum, row) => sum + row.grantsProcessed, 0), grants: rows };
}

async function grantInstallments(
  tx: Database,
  p: { schedules: DueSchedule[]; now: Date; jobId: string; catchUp: number },
): Promise<{ processed: number; grants: ScheduleGrant[] }> {
  const now = p.now.toISOString();
  // The balances are locked (in user id order) before any batch is written, as every change of credits does.
  const rows = await withBalancesLocked(
    tx,
    p.schedules.map((s) => s.userId),
    () =>
      queryRows<ScheduleGrant & { granted: number }>(
        tx,
        inlined(sql`
    with ${dueInstallments({ scheduleIds: p.schedules.map((s) => s.id), now, catchUp: p.catchUp })}, inserted as (
      insert into credit_batches (user_id, amount, remaining, source, category, effective_at, expires_at, idempotency_key,
                                  subscription_id, schedule_id, installment, job_run_id, created_at)
      select user_id, amount, amount, 'schedule', category, due_at,
             case when validity_days is null then null
                  else greatest(due_at, ${now}::timestamptz) + make_interval(days => validity_days) end,
             ${creditKeysSql.installment(sql`schedule_id`, sql`n`)}, subscription_id, schedule_id, n, ${p.jobId}::uuid, ${now}::timestamptz
        from inst where amount > 0
       order by user_id, schedule_id, n
      on conflict (idempotency_key) do nothing
      returning id, user_id, amount, idempotency_key
    ), ${postGrantedBatches({ jobId: p.jobId, now })}, per_schedule as (
      select s.id as schedule_id, count(i.n)::int as installments, coalesce(sum(i.amount), 0)::bigint as amount,
             s.installments_done + count(i.n) >= s.installments_total as completed,
             -- The next installment falls on or after the moment the plan stopped: nothing more is due.
             coalesce(s.ends_at <= s.anchor_at + make_interval(months => (s.installments_done + count(i.n))::int * s.interval_months), false) as stopped
        from s left join inst i on i.schedule_id = s.id
       group by s.id, s.installments_done, s.installments_total, s.ends_at, s.anchor_at, s.interval_months
    ), advanced as (
      -- After this call's installments: completed when all are granted, closed (canceled) when the plan
      -- stopped before the next one, otherwise due at the next date.
      update credit_schedules cs
         set installments_done = cs.installments_done + ps.installments,
             credits_granted = cs.credits_granted + ps.amount,
             credits_remaining = cs.credits_remaining - ps.amount,
             next_due_at = case when ps.completed or ps.stopped then null
                                else cs.anchor_at + make_interval(months => (cs.installments_done + ps.installments) * cs.interval_months) end,
             status = case when ps.completed then 'completed' when ps.stopped then 'canceled' else 'active' end,
             updated_at = ${now}::timestamptz
        from per_schedule ps
       where cs.id = ps.schedule_id
      returning cs.id, cs.subscription_id, cs.user_id, ps.amount, ps.installments, cs.installments_total - cs.installments_done as remaining_grants
    )
    select a.id::text as "scheduleId", a.subscription_id as "subscriptionId", a.user_id as "userId",
           a.amount as "totalGranted", a.installments as "grantsProcessed", a.remaining_grants as "remainingGrants",
           (select count(*) from inserted)::int as granted
      from advanced a where a.installments > 0 order by a.id`),
      ),
  );
  const processed = rows[0]?.granted ?? 0;
  return {
    processed,
    grants: rows.map((row) => ({
      scheduleId: row.scheduleId,
      subscriptionId: row.subscriptionId,
      userId: row.userId,
      totalGranted: row.totalGranted,
      grantsProcessed: row.grantsProcessed,
      remainingGrants: row.remainingGrants,
    })),
  };
}
