// Seeds N users in a few set-based statements per chunk, writing exactly the rows the usecases write
// (createUser, then startSubscription) so the jobs meet the data they meet in production:
// tests/bench/seed.test.ts compares the two row by row.
import { sql } from 'drizzle-orm';
import {
  creditsConfig,
  YEARLY_TERM_MONTHS,
  type CreditsConfig,
  type LifetimePlan,
  type MonthlyPlan,
  type YearlyPlan,
} from '@/config/credits';
import { queryRows } from '@/lib/server/db/sql';
import type { Database } from '@/lib/server/db/types';
import { addUtcDays, addUtcMonths, startOfNextUtcMonth, utcDateKey, utcMonthKey } from '@/lib/server/credits/time';
import { installmentAmount } from '@/lib/server/usecases/start-subscription';

/** Every bench user's email ends with this: the guard refuses a database holding anyone else. */
export const BENCH_EMAIL_DOMAIN = 'bench.invalid';
/** Created before the first row is written: marks the database as the bench's own. */
export const BENCH_MARKER_TABLE = 'bench_seed';

/**
 * The bench's calendar, relative to when the jobs run (the real clock: the routes read it too).
 * Free, monthly and lifetime users signed up (and subscribed) 32 days earlier, so each has a new month
 * or billing period due and last month's credits due to expire; yearly users bought three months and
 * a few days earlier, so three installments are overdue and everything they got then has expired.
 */
export type BenchCalendar = { signupAt: Date; yearlyAt: Date; runAt: Date };

export function benchCalendar(runAt: Date): BenchCalendar {
  return {
    signupAt: addUtcDays(runAt, -32),
    yearlyAt: addUtcMonths(addUtcDays(runAt, -5), -3),
    runAt,
  };
}

export type Segment = 'free' | 'monthly' | 'yearly' | 'lifetime';

/** User i (1-based) belongs to `segmentOf(i)`: 60% free, 20% monthly, 10% yearly, 10% lifetime. */
export const segmentMix: Record<Segment, number[]> = { free: [0, 1, 2, 3, 4, 5], monthly: [6, 7], yearly: [8], lifetime: [9] };

export function segmentCounts(users: number): Record<Segment, number> {
  const counts = { free: 0, monthly: 0, yearly: 0, lifetime: 0 };
  for (const [segment, residues] of Object.entries(segmentMix) as [Segment, number[]][]) {
    for (const r of residues) counts[segment] += Math.floor(users / 10) + (r !== 0 && r <= users % 10 ? 1 : 0);
  }
  return counts;
}

export type SeedProgress = { users: number; total: number; elapsedMs: number };

/** Plans the seed uses: the first of each billing kind in the config. */
function plans(config: CreditsConfig) {
  const monthly = config.plans.find((p): p is MonthlyPlan => p.billing === 'monthly');
  const yearly = config.plans.find((p): p is YearlyPlan => p.billing === 'yearly');
  const lifetime = config.plans.find((p): p is LifetimePlan => p.billing === 'lifetime');
  if (!monthly || !yearly || !lifetime) throw new Error('The bench needs a monthly, a yearly and a lifetime plan in src/config/credits.ts');
  return { monthly, yearly, lifetime };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * Inserts users `from`..`to` (1-based, inclusive) and everything their sign-up and purchase wrote.
 * One transaction, a temp table of the chunk's ids, then one insert per table.
 */
export async function seedChunk(db: Database, p: { from: number; to: number; calendar: BenchCalendar; config?: CreditsConfig }) {
  const config = p.config ?? creditsConfig;
  const { monthly, yearly, lifetime } = plans(config);
  const { signupAt: t1, yearlyAt: t0 } = p.calendar;
  const bonus = config.signupBonus;
  const free = config.freeTier;
  // Dates as createUser / startSubscription compute them, per cohort (t0: yearly buyers, t1: everyone else).
  const signupExpires = (t: Date) => iso(bonus.validityDays ? addUtcDays(t, bonus.validityDays) : null);
  const freeExpires = (t: Date) => iso(free.validityDays ? addUtcDays(t, free.validityDays) : startOfNextUtcMonth(t));
  const firstInstallment = installmentAmount(yearly, 1);
  const bySegment = (f: (t: Date) => string | null) =>
    sql`case when c.seg = 'yearly' then ${f(t0)}::timestamptz else ${f(t1)}::timestamptz end`;
  const monthOf = sql`case when c.seg = 'yearly' then ${utcMonthKey(t0)} else ${utcMonthKey(t1)} end`;

  await db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    await t.execute(
      sql`create temp table bench_chunk (i int primary key, user_id text, seg text, sub_id text, schedule_id uuid, at timestamptz) on commit drop`,
    );
    await t.execute(sql`
      insert into bench_chunk
      select i, gen_random_uuid()::text, seg,
             case when seg <> 'free' then gen_random_uuid()::text end,
             case when seg = 'yearly' then gen_random_uuid() end,
             case when seg = 'yearly' then ${iso(t0)}::timestamptz else ${iso(t1)}::timestamptz end
        from generate_series(${p.from}::int, ${p.to}::int) i,
             lateral (select case when i % 10 in (6, 7) then 'monthly' when i % 10 = 8 then 'yearly' when i % 10 = 9 then 'lifetime' else 'free' end as seg) s`);
    await t.execute(sql`
      insert into users (id, name, email, email_verified, created_at, updated_at)
      select user_id, 'Bench User ' || i, 'user' || i || '@' || ${BENCH_EMAIL_DOMAIN}, true, at, at from bench_chunk order by i`);
    await t.execute(sql`
      insert into subscriptions (id, user_id, plan_id, billing, status, anchor_at, ends_at, created_at, updated_at)
      select sub_id, user_id,
             case seg when 'monthly' then ${monthly.id} when 'yearly' then ${yearly.id} else ${lifetime.id} end,
             seg, 'active', at, case when seg = 'yearly' then at + make_interval(months => ${YEARLY_TERM_MONTHS}::int) end, at, at
        from bench_chunk c where seg <> 'free' order by i`);
    await t.execute(sql`
      insert into credit_schedules (id, user_id, subscription_id, plan_id, category, credits_per_installment, installments_total,
                                    installments_done, credits_total, credits_granted, credits_remaining, interval_months,
                                    validity_days, anchor_at, next_due_at, status, created_at, updated_at)
      select schedule_id, user_id, sub_id, ${yearly.id}, ${yearly.category}, ${Math.floor(yearly.totalCredits / yearly.installments)}::int,
             ${yearly.installments}::int, 1, ${yearly.totalCredits}::int, ${firstInstallment}::int, ${yearly.totalCredits - firstInstallment}::int,
             ${yearly.intervalMonths}::int, ${yearly.validityDays}::int, at,
             ${iso(yearly.installments > 1 ? addUtcMonths(t0, yearly.intervalMonths) : null)}::timestamptz,
             ${yearly.installments > 1 ? 'active' : 'completed'}, at, at
        from bench_chunk c where seg = 'yearly' order by i`);
    // In sign-up order: the bonus, then (no paid plan yet) the month's free credits, then the plan's first grant.
    await t.execute(sql`
      with grants as (
        select c.i, 1 as ord, c.user_id, ${bonus.credits}::int as amount, 'signup' as source, ${bonus.category} as category,
               c.at as effective_at, ${bySegment(signupExpires)} as expires_at, 'signup:' || c.user_id as key,
               null::text as subscription_id, null::uuid as schedule_id, null::int as installment, null::text as purchase_id
          from bench_chunk c
        union all
        select c.i, 2, c.user_id, ${free.credits}::int, 'free', ${free.category}, c.at, ${bySegment(freeExpires)},
               'free:' || c.user_id || ':' || ${monthOf}, null, null, null, null
          from bench_chunk c
        union all
        select c.i, 3, c.user_id, ${monthly.creditsPerPeriod}::int, 'subscription', ${monthly.category}, c.at,
               ${iso(addUtcDays(addUtcMonths(t1, 1), monthly.graceDays))}::timestamptz,
               'subscription:' || c.sub_id || ':' || ${utcDateKey(t1)}, c.sub_id, null, null, null
          from bench_chunk c where c.seg = 'monthly'
        union all
        select c.i, 3, c.user_id, ${lifetime.creditsPerMonth}::int, 'lifetime', ${lifetime.category}, c.at,
               ${iso(startOfNextUtcMonth(t1))}::timestamptz, 'lifetime:' || c.sub_id || ':' || ${utcMonthKey(t1)}, c.sub_id, null, null, c.sub_id
          from bench_chunk c where c.seg = 'lifetime'
        union all
        select c.i, 3, c.user_id, ${firstInstallment}::int, 'schedule', ${yearly.category}, c.at,
               ${iso(yearly.validityDays ? addUtcDays(t0, yearly.validityDays) : null)}::timestamptz,
               'schedule:' || c.schedule_id || ':1', c.sub_id, c.schedule_id, 1, null
          from bench_chunk c where c.seg = 'yearly'
      ), ordered as (
        select g.*, sum(amount) over (partition by i order by ord) as balance_after from grants g
      ), batches as (
        insert into credit_batches (user_id, amount, remaining, source, category, effective_at, expires_at, idempotency_key,
                                    subscription_id, schedule_id, installment, purchase_id, created_at)
        select user_id, amount, amount, source, category, effective_at, expires_at, key, subscription_id, schedule_id, installment, purchase_id, effective_at
          from ordered order by i, ord
        returning id, idempotency_key
      ), balances as (
        -- Ledger entries and operations reference the balance row; the keys are checked at the end of
        -- the statement, when it exists.
        insert into credit_balances (user_id, balance, total_granted, total_consumed, total_expired, updated_at)
        select user_id, sum(amount)::bigint, sum(amount)::bigint, 0, 0, min(effective_at)
          from ordered group by i, user_id order by i
      ), operations as (
        insert into credit_operations (key, user_id, kind, amount, balance_after, created_at)
        select key, user_id, 'grant', amount, balance_after, effective_at from ordered
      )
      insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, created_at)
      select o.user_id, o.amount, o.balance_after, 'grant', b.id, o.key, o.effective_at
        from ordered o join batches b on b.idempotency_key = o.key
       order by b.id`);
  });
}

/** Seeds `users` users in chunks, calling `onProgress` after each. */
export async function seedUsers(
  db: Database,
  p: { users: number; calendar: BenchCalendar; chunkSize?: number; config?: CreditsConfig; onProgress?: (progress: SeedProgress) => void },
) {
  const started = Date.now();
  const chunk = p.chunkSize ?? 20_000;
  for (let from = 1; from <= p.users; from += chunk) {
    const to = Math.min(p.users, from + chunk - 1);
    await seedChunk(db, { from, to, calendar: p.calendar, config: p.config });
    p.onProgress?.({ users: to, total: p.users, elapsedMs: Date.now() - started });
  }
  const [counts] = await queryRows<{ batches: number; ledger: number; schedules: number; subscriptions: number }>(
    db,
    sql`select (select count(*) from credit_batches)::int as batches, (select count(*) from credit_ledger)::int as ledger,
               (select count(*) from credit_schedules)::int as schedules, (select count(*) from subscriptions)::int as subscriptions`,
  );
  return { ms: Date.now() - started, users: p.users, ...counts! };
}
