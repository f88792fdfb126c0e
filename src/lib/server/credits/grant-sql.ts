import 'server-only';
import { sql, type SQL } from 'drizzle-orm';

/**
 * The CTEs that turn the batches a job statement just inserted (a CTE named `inserted`, returning
 * id, user_id, amount, idempotency_key) into their `grant` ledger entries and the new balances, in
 * the same statement. Each entry's balance_after is the running total per user, in batch id order.
 * Shared by the grant job and the installment job, so both write exactly what grantCredits writes.
 */
export function creditInsertedBatches(p: { jobId: string; now: string }): SQL {
  return sql`running as (
      select i.*, b.balance + sum(i.amount) over (partition by i.user_id order by i.id) as balance_after
        from inserted i join credit_balances b on b.user_id = i.user_id
    ), entries as (
      insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, job_run_id, created_at)
      select user_id, amount, balance_after, 'grant', id, idempotency_key, ${p.jobId}::uuid, ${p.now}::timestamptz from running
    ), per_user as (
      select user_id, sum(amount)::int as amount from inserted group by user_id
    ), balances as (
      update credit_balances b
         set balance = b.balance + pu.amount, total_granted = b.total_granted + pu.amount, updated_at = ${p.now}::timestamptz
        from per_user pu where b.user_id = pu.user_id
    )`;
}
