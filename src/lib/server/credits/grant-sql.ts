import 'server-only';
import { sql, type SQL } from 'drizzle-orm';

/**
 * The CTEs that turn the batches a job statement just inserted (a CTE named `inserted`, returning
 * id, user_id, amount, idempotency_key) into their `grant` ledger entries and the new balances, in
 * the same statement, with each key's operation row. Each entry's balance_after is the running total
 * per user, in batch id order. Shared by the grant job and the installment job, so both write exactly
 * what grantCredits writes.
 */
export function creditInsertedBatches(p: { jobId: string; now: string }): SQL {
  return sql`running as (
      select i.*, b.balance + sum(i.amount) over (partition by i.user_id order by i.id) as balance_after
        from inserted i join credit_balances b on b.user_id = i.user_id
    ), operations as (
      -- Each key's claim in the one key namespace: a key a spend already holds fails the chunk (its
      -- user is then counted as failed), it never names a grant and a spend at once.
      insert into credit_operations (key, user_id, kind, amount, balance_after, created_at)
      select idempotency_key, user_id, 'grant', amount, balance_after, ${p.now}::timestamptz from running
    ), entries as (
      -- In batch order per user, so ledger ids follow the balance_after chain.
      insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, job_run_id, created_at)
      select user_id, amount, balance_after, 'grant', id, idempotency_key, ${p.jobId}::uuid, ${p.now}::timestamptz from running
       order by user_id, id
    ), per_user as (
      select user_id, sum(amount)::bigint as amount from inserted group by user_id
    ), balances as (
      update credit_balances b
         set balance = b.balance + pu.amount, total_granted = b.total_granted + pu.amount, updated_at = ${p.now}::timestamptz
        from per_user pu where b.user_id = pu.user_id
    )`;
}
