import 'server-only';
import { sql, type SQL } from 'drizzle-orm';

// The one write path of set-based changes: what a job statement did to batches becomes ledger
// entries and new balances in the same statement, through these CTE fragments (a single change
// goes through grantCredits or debitCredits). Each entry's balance_after is the running total of
// its user in batch id order, and entries are inserted in that order, so ledger ids follow the chain.

/**
 * Posts the batches a statement just inserted (a CTE named `inserted`, returning id, user_id, amount,
 * idempotency_key): each key's operation row (its claim in the one key namespace: a key a spend holds
 * fails the statement, never naming a grant and a spend at once), one `grant` entry per batch, and
 * the balances. Shared by the grant job and the installment job, so both write what grantCredits writes.
 */
export function postGrantedBatches(p: { jobId: string; now: string }): SQL {
  return sql`running as (
      select i.*, b.balance + sum(i.amount) over (partition by i.user_id order by i.id) as balance_after
        from inserted i join credit_balances b on b.user_id = i.user_id
    ), operations as (
      insert into credit_operations (key, user_id, kind, amount, balance_after, created_at)
      select idempotency_key, user_id, 'grant', amount, balance_after, ${p.now}::timestamptz from running
    ), entries as (
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

/**
 * Posts what batches lost in the same statement (a CTE named `lost`, with id, user_id, lost > 0):
 * one entry of `kind` per batch under the key `key` builds from the batch id (`b.id`), and the
 * balances, with the loss added to `total` (expiry to total_expired; a void, and credits a refund or
 * dispute took back (`revoke`), count as consumed).
 */
export function postLostCredits(p: {
  kind: 'expire' | 'void' | 'revoke';
  key: (batchId: SQL) => SQL;
  total: 'total_expired' | 'total_consumed';
  jobId: string | null;
  metadata: string | null;
  now: string;
}): SQL {
  return sql`running as (
      select l.*, bal.balance - sum(l.lost) over (partition by l.user_id order by l.id) as balance_after
        from lost l join credit_balances bal on bal.user_id = l.user_id
    ), entries as (
      insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, job_run_id, metadata, created_at)
      select r.user_id, -r.lost, r.balance_after, ${p.kind}, r.id, ${p.key(sql`r.id`)}, ${p.jobId}::uuid, ${p.metadata}::jsonb, ${p.now}::timestamptz
        from running r order by r.user_id, r.id
    ), per_user as (
      select user_id, sum(lost)::bigint as lost from lost group by user_id
    ), balances as (
      update credit_balances b
         set balance = b.balance - pu.lost, ${sql.identifier(p.total)} = b.${sql.identifier(p.total)} + pu.lost, updated_at = ${p.now}::timestamptz
        from per_user pu where b.user_id = pu.user_id
    )`;
}
