import 'server-only';
import { and, desc, eq, min, sql } from 'drizzle-orm';
import { creditsConfig as defaultConfig, type CreditsConfig } from '@/config/credits';
import { jobRuns, users } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { queryRows } from '@/lib/server/db/sql';
import { lockBalances } from '@/lib/server/credits/balances';
import { postGrantedBatches } from '@/lib/server/credits/posting';
import { creditKeysSql } from '@/lib/server/credits/keys';
import { DRY_RUN_PREVIEW_SIZE, jobAnswer, runJob, writeChunk, type JobOptions } from '@/lib/server/credits/job-runner';
import { addUtcDays, utcDateKey } from '@/lib/server/credits/time';
import { planEnds, planInForceDuringMonth } from '@/lib/server/credits/plans-in-force';

export type GrantMonthlyCreditsParams = JobOptions & {
  /** Stop after this many users have been looked at (the call then reports `hasMore: true`). */
  limit?: number;
  /**
   * Reproduce the run of a past day (`now` is its instant, see `backfillInstant`): only users who
   * existed at `now` are looked at, and a plan that started after `now` does not count as in force
   * during the month. A cancel after `now` already changes nothing (a period that began before a plan
   * stopped is granted whenever the job runs). The daily run needs neither rule: nobody is created
   * and no plan starts after its own clock, so the two differ only for a day in the past.
   */
  backfill?: boolean;
  config?: CreditsConfig;
};

export type BackfillInstantResult =
  { ok: true; date: string; asOf: Date } | { ok: false; reason: 'invalid_date' | 'future_date' | 'before_first_user'; message: string };

/**
 * The instant a grant backfill of the UTC day `date` runs as of: the end of that day (so every period
 * that started that day is included), or `now` for today. Refused: a malformed date, a future one (a
 * grant never runs ahead of time), and a day before the first user existed (there was nothing to grant,
 * and a run then would date credits years before anyone signed up).
 */
export async function backfillInstant(db: Database, params: { date: string; now: Date }): Promise<BackfillInstantResult> {
  const { date, now } = params;
  const start = new Date(`${date}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(start.getTime()) || utcDateKey(start) !== date) {
    return { ok: false, reason: 'invalid_date', message: `the date must be a calendar date as YYYY-MM-DD, got "${date}"` };
  }
  const today = utcDateKey(now);
  if (date > today) {
    return {
      ok: false,
      reason: 'future_date',
      message: `${date} is in the future (today is ${today} UTC): a grant cannot run ahead of time`,
    };
  }
  const [first] = await db.select({ at: min(users.createdAt) }).from(users);
  const firstDay = first?.at ? utcDateKey(first.at) : null;
  if (firstDay !== null && date < firstDay) {
    return {
      ok: false,
      reason: 'before_first_user',
      message: `${date} is before the first user (created ${firstDay}): there was nothing to grant that day`,
    };
  }
  return { ok: true, date, asOf: date === today ? now : new Date(addUtcDays(start, 1).getTime() - 1) };
}

export type GrantMonthlyCreditsResult = {
  jobId: string;
  date: string;
  durationMs: number;
  results: { processed: number; successful: number; skipped: number; failed: number; users: number; creditsGranted: number };
  hasMore: boolean;
  /** A dry run: the first grants it would write, by user (the counts cover them all). */
  preview?: GrantPreview[];
};

/** A grant a dry run would write. */
export type GrantPreview = { userId: string; email: string; key: string; amount: number };

type ChunkCounts = { due: number; granted: number; credits: number; preview: GrantPreview[] };

/**
 * The daily grant job: for the UTC day of `now`, every monthly subscription gets its current billing
 * period (a provider's subscription only when that period is paid for), every lifetime plan its current calendar month, and every user with no plan in force at any
 * time this month gets this month's free credits. A period or month that began before its plan was
 * canceled is still granted, whenever the job runs; nothing that begins after. A missed day is caught
 * up by the next run: whatever period is still live is granted then; a period whose credits would
 * already be expired is not.
 *
 * Users are walked in id order, a chunk per transaction with one set-based statement. A call that
 * runs out of time or reaches `limit` stores where it stopped; the next call for the same day resumes there.
 */
export async function grantMonthlyCredits(db: Database, params: GrantMonthlyCreditsParams): Promise<GrantMonthlyCreditsResult> {
  const config = params.config ?? defaultConfig;
  const now = params.now ?? new Date();
  const date = utcDateKey(now);
  const preview: GrantPreview[] = [];
  const run = await runJob(
    db,
    'grant',
    { ...params, now },
    { limit: params.limit ?? null, dryRun: params.dryRun ?? false, date, ...(params.backfill ? { backfill: true } : {}) },
    async (ctx) => {
      const counts = { processed: 0, successful: 0, skipped: 0, failed: 0, users: 0, creditsGranted: 0 };
      // A dry run always looks at everything from the start; a real run resumes the day's last unfinished call.
      let cursor = ctx.dryRun ? '' : await resumeCursor(db, date);
      let hasMore = false;
      const plans = JSON.stringify(plansForSql(config));
      const existedAt = params.backfill ? ctx.now : null;
      for (;;) {
        if (ctx.outOfTime() || (params.limit !== undefined && counts.users >= params.limit)) {
          hasMore = (await nextUsers(db, cursor, 1, existedAt)).length > 0;
          break;
        }
        const size = params.limit === undefined ? ctx.chunkSize : Math.min(ctx.chunkSize, params.limit - counts.users);
        const userIds = await nextUsers(db, cursor, size, existedAt);
        if (userIds.length === 0) break;
        const { results, failed } = await writeChunk(db, ctx, userIds, (tx, ids) =>
          grantChunk(tx, {
            userIds: ids,
            now: ctx.now,
            jobId: ctx.jobId,
            plans,
            config,
            backfill: params.backfill ?? false,
            dryRun: ctx.dryRun,
          }),
        );
        for (const r of results) {
          counts.processed += r.due;
          counts.successful += r.granted;
          counts.skipped += r.due - r.granted;
          counts.creditsGranted += Number(r.credits); // a chunk's sum can pass 2^53 (a count, not a balance): never fail a committed run on it
          if (ctx.dryRun) {
            // jsonb orders keys by name: put them back in reading order.
            for (const g of r.preview.slice(0, DRY_RUN_PREVIEW_SIZE - preview.length))
              preview.push({ userId: g.userId, email: g.email, key: g.key, amount: Number(g.amount) });
          }
        }
        counts.failed += failed.length;
        counts.processed += failed.length;
        counts.users += userIds.length;
        cursor = userIds[userIds.length - 1]!;
        params.onChunk?.({ users: counts.users, granted: counts.successful, skipped: counts.skipped, failed: counts.failed });
        if (userIds.length < size) break;
      }
      return { results: counts, hasMore, cursor: hasMore ? cursor : null, referenceDate: date };
    },
  );
  return { ...jobAnswer(run, params.dryRun, preview), date };
}

async function resumeCursor(db: Database, date: string): Promise<string> {
  const [last] = await db
    .select({ hasMore: jobRuns.hasMore, cursor: jobRuns.cursor })
    .from(jobRuns)
    .where(and(eq(jobRuns.job, 'grant'), eq(jobRuns.status, 'succeeded'), eq(jobRuns.dryRun, false), eq(jobRuns.referenceDate, date)))
    .orderBy(desc(jobRuns.finishedAt))
    .limit(1);
  return last?.hasMore && last.cursor ? last.cursor : '';
}

/** The next users in id order; with `existedAt` (a backfill), only those created by then. */
async function nextUsers(db: Database, after: string, size: number, existedAt: Date | null): Promise<string[]> {
  const existed = existedAt ? sql`and created_at <= ${existedAt.toISOString()}::timestamptz` : sql``;
  const rows = await queryRows<{ id: string }>(db, sql`select id from users where id > ${after} ${existed} order by id limit ${size}`);
  return rows.map((row) => row.id);
}

function plansForSql(config: CreditsConfig) {
  return config.plans
    .filter((plan) => plan.billing !== 'yearly')
    .map((plan) =>
      plan.billing === 'monthly'
        ? { id: plan.id, billing: plan.billing, credits: plan.creditsPerPeriod, category: plan.category, grace_days: plan.graceDays }
        : { id: plan.id, billing: plan.billing, credits: plan.creditsPerMonth, category: plan.category, grace_days: 0 },
    );
}

/**
 * One chunk in one statement. Keys are those of docs/credits.md (`subscription:{id}:{periodStart}`,
 * `lifetime:{id}:{YYYY-MM}`, `free:{userId}:{YYYY-MM}`); `on conflict do nothing` makes a repeated or
 * concurrent run skip what is already granted. Month arithmetic runs in the session's UTC time zone.
 */
// What a dry run names (it is rolled back): the chunk's first grants, in user order. A real run skips it:
// the grant job's chunk statement is its hot path.
const previewOfGrants = sql`(select coalesce(jsonb_agg(jsonb_build_object('userId', user_id, 'email', (select email from users u where u.id = user_id), 'key', idempotency_key, 'amount', amount) order by user_id, idempotency_key), '[]'::jsonb)
              from (select * from inserted order by user_id, idempotency_key limit ${DRY_RUN_PREVIEW_SIZE}) first)`;

async function grantChunk(
  tx: Database,
  p: { userIds: string[]; now: Date; jobId: string; plans: string; config: CreditsConfig; backfill: boolean; dryRun: boolean },
): Promise<ChunkCounts> {
  await lockBalances(tx, p.userIds);
  const now = p.now.toISOString();
  const free = p.config.freeTier;
  const [row] = await queryRows<ChunkCounts>(
    tx,
    sql`
    with chunk as (
      select value as user_id from jsonb_array_elements_text(${JSON.stringify(p.userIds)}::jsonb)
    ), plans as (
      select * from jsonb_to_recordset(${p.plans}::jsonb) as p(id text, billing text, credits bigint, category text, grace_days integer)
    ), subs as (
      -- Every plan of the chunk's users that may still have something due, canceled or ended ones
      -- included: what fell due before a plan stopped (\`ends_at\`) is granted whenever this job runs.
      select s.id, s.user_id, s.anchor_at, s.billing, ${planEnds('s')} as ends_at, s.provider, s.paid_through,
             pl.credits, pl.category, coalesce(pl.grace_days, 0) as grace_days, s.plan_id
        from subscriptions s
        join chunk c on c.user_id = s.user_id
        left join plans pl on pl.id = s.plan_id
       where s.billing in ('monthly', 'lifetime') and s.anchor_at <= ${now}::timestamptz
         and coalesce(${planEnds('s')}, 'infinity') > ${now}::timestamptz - interval '4 months'
    ), monthly_periods as (
      select s.*, s.anchor_at + make_interval(months => n) as period_start, s.anchor_at + make_interval(months => n + 1) as period_end
        from subs s,
             lateral (select ((extract(year from ${now}::timestamptz) - extract(year from s.anchor_at)) * 12
                             + extract(month from ${now}::timestamptz) - extract(month from s.anchor_at))::int as n0) m,
             lateral generate_series(greatest(0, m.n0 - 2), m.n0) n
       where s.billing = 'monthly'
    ), lifetime_months as (
      select s.*, greatest(s.anchor_at, date_trunc('month', ${now}::timestamptz)) as month_start
        from subs s where s.billing = 'lifetime'
    ), due as (
      -- A plan removed from src/config must not silently stop a paying user's credits: the cast of the
      -- message fails the statement (COALESCE evaluates it only for a grant that is due), so the user
      -- is counted as failed and the log names the plan.
      select user_id, coalesce(credits, ('plan missing from src/config: ' || plan_id)::int) as amount, 'subscription' as source,
             coalesce(category, 'paid') as category, period_start as effective_at,
             period_end + make_interval(days => grace_days) as expires_at,
             ${creditKeysSql.subscriptionPeriod(sql`id`, sql`period_start`)} as key, id as subscription_id, null::text as purchase_id
        from monthly_periods
       where period_start <= ${now}::timestamptz and period_end + make_interval(days => grace_days) > ${now}::timestamptz
         and (ends_at is null or period_start < ends_at)
         -- A provider's plan: only periods paid for (the webhook grants them under this same key; this
         -- is the safety net for one it missed). An operator's plan (no provider) runs until canceled.
         and (provider is null or period_start < paid_through)
      union all
      select user_id, coalesce(credits, ('plan missing from src/config: ' || plan_id)::int), 'lifetime', coalesce(category, 'paid'), month_start,
             date_trunc('month', ${now}::timestamptz) + interval '1 month',
             ${creditKeysSql.lifetimeMonth(sql`id`, sql`${now}::timestamptz`)}, id, id
        from lifetime_months where ends_at is null or month_start < ends_at
      union all
      select c.user_id, ${free.credits}::bigint, 'free', ${free.category}, date_trunc('month', ${now}::timestamptz),
             ${
               free.validityDays === null
                 ? sql`date_trunc('month', ${now}::timestamptz) + interval '1 month'`
                 : sql`${now}::timestamptz + make_interval(days => ${free.validityDays}::int)`
             },
             ${creditKeysSql.free(sql`c.user_id`, sql`${now}::timestamptz`)}, null, null
        from chunk c
        -- Free credits go to verified addresses only: an unverified sign-up costs a script nothing.
        join users u on u.id = c.user_id and u.email_verified
       where not exists (select 1 from subscriptions s where s.user_id = c.user_id and ${planInForceDuringMonth('s', now)}
                           -- a backfill: a plan that started after the day it reproduces did not stand then
                           ${p.backfill ? sql`and s.anchor_at <= ${now}::timestamptz` : sql``})
    ), inserted as (
      insert into credit_batches (user_id, amount, remaining, source, category, effective_at, expires_at, idempotency_key, subscription_id, purchase_id, job_run_id, created_at)
      select user_id, amount, amount, source, category, effective_at, expires_at, key, subscription_id, purchase_id, ${p.jobId}::uuid, ${now}::timestamptz
        from due order by user_id, key
      on conflict (idempotency_key) do nothing
      returning id, user_id, amount, idempotency_key
    ), ${postGrantedBatches({ jobId: p.jobId, now })}
    select (select count(*) from due)::int as due,
           (select count(*) from inserted)::int as granted,
           coalesce((select sum(amount) from inserted), 0)::bigint as credits,
           ${p.dryRun ? previewOfGrants : sql`'[]'::jsonb`} as preview`,
  );
  return row!;
}
