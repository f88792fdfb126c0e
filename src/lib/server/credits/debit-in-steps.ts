import 'server-only';
import { isDeepStrictEqual } from 'node:util';
import { eq, sql } from 'drizzle-orm';
import { creditOperations, type CreditOperation } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { pgErrorCode, queryRows, transaction } from '@/lib/server/db/sql';
import { refuseAmount } from './amounts';
import { refuseKey } from './keys';
import { debitRequest, type DebitParams, type DebitResult } from './debit';

type UsableBatch = { id: number; remaining: number };
type StoredOutcome = Pick<CreditOperation, 'key' | 'userId' | 'amount' | 'kind' | 'balanceAfter' | 'request'>;
type LockedBalance = { balance: number } & { [K in keyof StoredOutcome]: StoredOutcome[K] | null };

/**
 * The debit as it was before `credits_debit` (migration 0005): the same rules in five round trips
 * (begin, the balance lock with the key lookup, the live batches, one write statement, commit). Kept
 * as the bench's baseline, and run by the tests next to `debitCredits` against the same rules.
 *
 * Takes `amount` credits from a user's spendable batches in burn-down order: soonest expiry first
 * (never-expiring last), then promotional before paid, then oldest, then id. One ledger entry per
 * batch touched, all under the operation's key. Short of credits: a value, and nothing written.
 */
export async function debitCreditsInSteps(db: Database, params: DebitParams): Promise<DebitResult> {
  const refused = refuseAmount(params.amount) ?? refuseKey(params.idempotencyKey, { forSpend: true });
  if (refused) return refused;
  try {
    return await transaction(db, async (tx) => {
      // One round trip locks the balance row and looks the key up. Every key, a grant's included, has
      // its operation row, so the lookup sees whatever the key names. A call with the same key that
      // commits while this one waits for the lock is not seen by this statement (its snapshot is older
      // than the lock): then the operation insert below fails on the primary key and the catch replays,
      // or, if that call drained the credits, the key is read again before answering "short".
      const [locked] = await queryRows<LockedBalance>(
        tx,
        sql`select b.balance, o.key, o.user_id as "userId", o.amount, o.kind, o.balance_after as "balanceAfter", o.request
              from credit_balances b left join credit_operations o on o.key = ${params.idempotencyKey}
             where b.user_id = ${params.userId}
             for update of b`,
      );
      if (!locked) {
        // No balance row: nothing to spend, and only another user's operation can hold this key.
        const other = await findOperation(tx, params.idempotencyKey);
        if (other) return replayOutcome(tx, other, params);
        return { ok: false, reason: 'insufficient_credits', requested: params.amount, available: 0 } as const;
      }
      if (locked.key !== null) return replayOutcome(tx, locked as StoredOutcome, params);
      const balance = locked.balance;
      const now = params.now.toISOString();
      // `coalesce(…, 'infinity')` rather than `expires_at is null or …`: the OR lets the planner, with
      // statistics older than the last grant run, bitmap-OR in the expiry index and scan every user's
      // fresh batches (100 ms per call at 100 000 users); this form only matches the user's own index.
      const batches = await queryRows<UsableBatch>(
        tx,
        sql`select id::float8 as id, remaining from credit_batches
             where user_id = ${params.userId} and expired_at is null and remaining > 0
               and effective_at <= ${now}::timestamptz and coalesce(expires_at, 'infinity') > ${now}::timestamptz
             order by expires_at asc nulls last, (category = 'paid'), effective_at, id
             for update`,
      );
      const available = batches.reduce((sum, batch) => sum + batch.remaining, 0);
      if (available < params.amount) {
        // A fresh statement sees a same-key call that committed while this one waited: it is what drained them.
        const stored = await findOperation(tx, params.idempotencyKey);
        if (stored) return replayOutcome(tx, stored, params);
        return { ok: false, reason: 'insufficient_credits', requested: params.amount, available } as const;
      }
      const takes: { batch_id: number; take: number; balance_after: number }[] = [];
      let left = params.amount;
      let running = balance;
      for (const batch of batches) {
        if (left === 0) break;
        const take = Math.min(left, batch.remaining);
        left -= take;
        running -= take;
        takes.push({ batch_id: batch.id, take, balance_after: running });
      }
      const metadata = params.metadata ? JSON.stringify(params.metadata) : null;
      await tx.execute(sql`
        with takes as (
          select * from jsonb_to_recordset(${JSON.stringify(takes)}::jsonb) as t(batch_id bigint, take bigint, balance_after bigint)
        ), spent as (
          update credit_batches b set remaining = b.remaining - t.take from takes t where b.id = t.batch_id
        ), entries as (
          insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, metadata, created_at)
          select ${params.userId}, -t.take, t.balance_after, ${params.kind}, t.batch_id, ${params.idempotencyKey}, ${metadata}::jsonb, ${now}::timestamptz
            from takes t
        ), operation as (
          insert into credit_operations (key, user_id, kind, amount, balance_after, metadata, request, created_at)
          values (${params.idempotencyKey}, ${params.userId}, ${params.kind}, ${params.amount}, ${running}, ${metadata}::jsonb,
                  ${JSON.stringify(debitRequest(params))}::jsonb, ${now}::timestamptz)
        )
        update credit_balances
           set balance = balance - ${params.amount}, total_consumed = total_consumed + ${params.amount}, updated_at = ${now}::timestamptz
         where user_id = ${params.userId}`);
      return { ok: true, replayed: false, amount: params.amount, balanceAfter: running, entries: takes.length } as const;
    });
  } catch (error) {
    // The same key used at the same moment by another call (another user's, or a grant): the operation
    // row's primary key refused this one.
    if (pgErrorCode(error) === '23505') {
      const existing = await findOperation(db, params.idempotencyKey);
      if (existing) return replayOutcome(db, existing, params);
    }
    throw error;
  }
}

async function findOperation(db: Database, key: string): Promise<CreditOperation | undefined> {
  const [row] = await db.select().from(creditOperations).where(eq(creditOperations.key, key));
  return row;
}

/** The original outcome of the key's operation, entries included; a conflict when the key named another request. */
async function replayOutcome(db: Database, operation: StoredOutcome, params: DebitParams): Promise<DebitResult> {
  const conflict = {
    ok: false,
    reason: 'idempotency_conflict',
    message: `key ${params.idempotencyKey} was used for another operation`,
  } as const;
  if (operation.request) {
    if (!isDeepStrictEqual(operation.request, debitRequest(params))) return conflict;
  } else {
    // Written before requests were kept: compare the columns, and make sure the key is not a grant's.
    if (operation.userId !== params.userId || operation.amount !== params.amount || operation.kind !== params.kind) return conflict;
    const [batch] = await queryRows(db, sql`select 1 from credit_batches where idempotency_key = ${operation.key}`);
    if (batch) return conflict;
  }
  const [written] = await queryRows<{ entries: number }>(
    db,
    sql`select count(*)::int as entries from credit_ledger where operation_key = ${operation.key}`,
  );
  return { ok: true, replayed: true, amount: operation.amount, balanceAfter: operation.balanceAfter, entries: written!.entries };
}
