// The raw SQL ceiling of each job: one hand-written set-based statement doing the same writes
// (batches, operations, ledger, balances, schedules) over the whole data set at once, with no chunks, no locks
// taken ahead, no job bookkeeping. What Postgres itself can do on this machine; the usecases are
// measured as a percentage of it.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { creditsConfig } from '@/config/credits';
import { queryRows } from '@/lib/server/db/sql';
import type { Database } from '@/lib/server/db/types';

export type CeilingFigures = { rows: number; ms: number };

async function timed(db: Database, job: 'grant' | 'expire' | 'subscription-grants', statement: (jobId: string) => ReturnType<typeof sql>) {
  const jobId = randomUUID();
  await db.execute(sql`insert into job_runs (id, job, trigger) values (${jobId}::uuid, ${job}, 'cli')`);
  const started = performance.now();
  const [row] = await queryRows<{ rows: number }>(db, statement(jobId));
  return { rows: row?.rows ?? 0, ms: performance.now() - started };
}

export function grantCeiling(db: Database, now: Date): Promise<CeilingFigures> {
  const at = now.toISOString();
  const free = creditsConfig.freeTier;
  const plans = JSON.stringify(
    creditsConfig.plans.flatMap((p): { id: string; billing: string; credits: number; category: string; grace_days: number }[] =>
      p.billing === 'monthly'
        ? [{ id: p.id, billing: p.billing, credits: p.creditsPerPeriod, category: p.category, grace_days: p.graceDays }]
        : p.billing === 'lifetime'
          ? [{ id: p.id, billing: p.billing, credits: p.creditsPerMonth, category: p.category, grace_days: 0 }]
          : [],
    ),
  );
  const freeExpires =
    free.validityDays === null
      ? sql`date_trunc('month', ${at}::timestamptz) + interval '1 month'`
      : sql`${at}::timestamptz + make_interval(days => ${free.validityDays}::int)`;
  return timed(
    db,
    'grant',
    (jobId) => sql`
    with plans as (
      select * from jsonb_to_recordset(${plans}::jsonb) as p(id text, billing text, credits bigint, category text, grace_days integer)
    ), subs as (
      select s.id, s.user_id, s.anchor_at, s.billing, pl.credits, pl.category, pl.grace_days,
             ((extract(year from ${at}::timestamptz) - extract(year from s.anchor_at)) * 12
               + extract(month from ${at}::timestamptz) - extract(month from s.anchor_at))::int as n0
        from subscriptions s join plans pl on pl.id = s.plan_id
       where s.status = 'active' and s.anchor_at <= ${at}::timestamptz
    ), periods as (
      select s.*, s.anchor_at + make_interval(months => n) as period_start, s.anchor_at + make_interval(months => n + 1) as period_end
        from subs s, generate_series(greatest(0, s.n0 - 2), s.n0) n where s.billing = 'monthly'
    ), due as (
      select user_id, credits as amount, 'subscription' as source, category, period_start as effective_at,
             period_end + make_interval(days => grace_days) as expires_at,
             'subscription:' || id || ':' || to_char(period_start, 'YYYY-MM-DD') as key, id as subscription_id, null::text as purchase_id
        from periods
       where period_start <= ${at}::timestamptz and period_end + make_interval(days => grace_days) > ${at}::timestamptz
      union all
      select user_id, credits, 'lifetime', category, greatest(anchor_at, date_trunc('month', ${at}::timestamptz)),
             date_trunc('month', ${at}::timestamptz) + interval '1 month', 'lifetime:' || id || ':' || to_char(${at}::timestamptz, 'YYYY-MM'), id, id
        from subs where billing = 'lifetime'
      union all
      select u.id, ${free.credits}::int, 'free', ${free.category}, date_trunc('month', ${at}::timestamptz), ${freeExpires},
             'free:' || u.id || ':' || to_char(${at}::timestamptz, 'YYYY-MM'), null, null
        from users u where not exists (select 1 from subscriptions s where s.user_id = u.id and s.status = 'active')
    ), inserted as (
      insert into credit_batches (user_id, amount, remaining, source, category, effective_at, expires_at, idempotency_key, subscription_id, purchase_id, job_run_id, created_at)
      select user_id, amount, amount, source, category, effective_at, expires_at, key, subscription_id, purchase_id, ${jobId}::uuid, ${at}::timestamptz
        from due
      on conflict (idempotency_key) do nothing
      returning id, user_id, amount, idempotency_key
    ), running as (
      select i.*, b.balance + sum(i.amount) over (partition by i.user_id order by i.id) as balance_after
        from inserted i join credit_balances b on b.user_id = i.user_id
    ), operations as (
      insert into credit_operations (key, user_id, kind, amount, balance_after, created_at)
      select idempotency_key, user_id, 'grant', amount, balance_after, ${at}::timestamptz from running
    ), entries as (
      insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, job_run_id, created_at)
      select user_id, amount, balance_after, 'grant', id, idempotency_key, ${jobId}::uuid, ${at}::timestamptz from running
    ), balances as (
      update credit_balances b set balance = b.balance + pu.amount, total_granted = b.total_granted + pu.amount, updated_at = ${at}::timestamptz
        from (select user_id, sum(amount)::bigint as amount from inserted group by user_id) pu where b.user_id = pu.user_id
    )
    select count(*)::int as rows from inserted`,
  );
}

export function expireCeiling(db: Database, now: Date): Promise<CeilingFigures> {
  const at = now.toISOString();
  return timed(
    db,
    'expire',
    (jobId) => sql`
    with expired as (
      update credit_batches b set expired_amount = b.remaining, remaining = 0, expired_at = ${at}::timestamptz
       where b.expired_at is null and b.expires_at is not null and b.expires_at <= ${at}::timestamptz
      returning b.id, b.user_id, b.expired_amount as lost
    ), lost as (
      select * from expired where lost > 0
    ), running as (
      select l.*, bal.balance - sum(l.lost) over (partition by l.user_id order by l.id) as balance_after
        from lost l join credit_balances bal on bal.user_id = l.user_id
    ), entries as (
      insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, job_run_id, created_at)
      select user_id, -lost, balance_after, 'expire', id, 'expire:' || id, ${jobId}::uuid, ${at}::timestamptz from running
    ), balances as (
      update credit_balances b set balance = b.balance - pu.lost, total_expired = b.total_expired + pu.lost, updated_at = ${at}::timestamptz
        from (select user_id, sum(lost)::bigint as lost from lost group by user_id) pu where b.user_id = pu.user_id
    )
    select count(*)::int as rows from expired`,
  );
}

export function scheduleCeiling(db: Database, now: Date, catchUp = 12): Promise<CeilingFigures> {
  const at = now.toISOString();
  return timed(
    db,
    'subscription-grants',
    (jobId) => sql`
    with s as (
      select cs.* from credit_schedules cs join subscriptions sub on sub.id = cs.subscription_id and sub.status = 'active'
       where cs.status = 'active' and cs.next_due_at <= ${at}::timestamptz
    ), inst as (
      select s.id as schedule_id, s.user_id, s.subscription_id, s.category, s.validity_days, n,
             s.anchor_at + make_interval(months => (n - 1) * s.interval_months) as due_at,
             case when n = s.installments_total then s.credits_remaining - s.credits_per_installment * (n - 1 - s.installments_done)
                  else s.credits_per_installment end as amount
        from s, generate_series(s.installments_done + 1, least(s.installments_total, s.installments_done + ${catchUp}::int)) n
       where s.anchor_at + make_interval(months => (n - 1) * s.interval_months) <= ${at}::timestamptz
    ), inserted as (
      insert into credit_batches (user_id, amount, remaining, source, category, effective_at, expires_at, idempotency_key,
                                  subscription_id, schedule_id, installment, job_run_id, created_at)
      select user_id, amount, amount, 'schedule', category, due_at,
             case when validity_days is null then null else greatest(due_at, ${at}::timestamptz) + make_interval(days => validity_days) end,
             'schedule:' || schedule_id || ':' || n, subscription_id, schedule_id, n, ${jobId}::uuid, ${at}::timestamptz
        from inst where amount > 0
      on conflict (idempotency_key) do nothing
      returning id, user_id, amount, idempotency_key
    ), running as (
      select i.*, b.balance + sum(i.amount) over (partition by i.user_id order by i.id) as balance_after
        from inserted i join credit_balances b on b.user_id = i.user_id
    ), operations as (
      insert into credit_operations (key, user_id, kind, amount, balance_after, created_at)
      select idempotency_key, user_id, 'grant', amount, balance_after, ${at}::timestamptz from running
    ), entries as (
      insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, job_run_id, created_at)
      select user_id, amount, balance_after, 'grant', id, idempotency_key, ${jobId}::uuid, ${at}::timestamptz from running
    ), balances as (
      update credit_balances b set balance = b.balance + pu.amount, total_granted = b.total_granted + pu.amount, updated_at = ${at}::timestamptz
        from (select user_id, sum(amount)::bigint as amount from inserted group by user_id) pu where b.user_id = pu.user_id
    ), advanced as (
      update credit_schedules cs
         set installments_done = cs.installments_done + ps.installments, credits_granted = cs.credits_granted + ps.amount,
             credits_remaining = cs.credits_remaining - ps.amount,
             next_due_at = case when cs.installments_done + ps.installments >= cs.installments_total then null
                                else cs.anchor_at + make_interval(months => (cs.installments_done + ps.installments) * cs.interval_months) end,
             status = case when cs.installments_done + ps.installments >= cs.installments_total then 'completed' else 'active' end,
             updated_at = ${at}::timestamptz
        from (select schedule_id, count(*)::int as installments, sum(amount)::bigint as amount from inst group by schedule_id) ps
       where cs.id = ps.schedule_id
    )
    select count(*)::int as rows from inserted`,
  );
}
