import 'server-only';
import { eq, sql } from 'drizzle-orm';
import { creditBatches, creditOperations, type CreditBatch, type NewCreditBatch } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { queryRows, transaction } from '@/lib/server/db/sql';
import { lockBalance } from '@/lib/server/credits/balances';

export type GrantCreditsParams = Pick<
  NewCreditBatch,
  'userId' | 'amount' | 'source' | 'category' | 'expiresAt' | 'idempotencyKey' | 'subscriptionId' | 'scheduleId' | 'installment' | 'purchaseId' | 'jobRunId'
> & {
  /** When the credits become spendable; defaults to `now`. */
  effectiveAt?: Date;
  /** `adjust` for an admin's positive adjustment, `refund` for credits given back. */
  kind?: 'grant' | 'adjust' | 'refund';
  metadata?: Record<string, unknown>;
  now?: Date;
};

export type GrantCreditsResult =
  | { ok: true; replayed: false; batch: CreditBatch; balanceAfter: number }
  | { ok: true; replayed: true; batch: CreditBatch }
  | { ok: false; reason: 'invalid_amount' | 'invalid_expiry' | 'idempotency_conflict'; message: string };

/**
 * The one primitive every source of credits goes through: a batch, its ledger entry and the new
 * balance, written together under the batch's idempotency key. Granting again with the same key
 * changes nothing and returns the batch granted the first time.
 */
export async function grantCredits(db: Database, params: GrantCreditsParams): Promise<GrantCreditsResult> {
  const now = params.now ?? new Date();
  const effectiveAt = params.effectiveAt ?? now;
  if (!Number.isSafeInteger(params.amount) || params.amount <= 0) {
    return { ok: false, reason: 'invalid_amount', message: 'amount must be a positive whole number' };
  }
  if (params.expiresAt && params.expiresAt <= effectiveAt) {
    return { ok: false, reason: 'invalid_expiry', message: 'expiresAt must be after effectiveAt' };
  }
  return transaction(db, async (tx) => {
    const { balance } = await lockBalance(tx, params.userId);
    // A key names one thing: a consumption or deduction that used it cannot also be a grant.
    const [operation] = await tx.select({ key: creditOperations.key }).from(creditOperations).where(eq(creditOperations.key, params.idempotencyKey));
    if (operation) {
      return { ok: false, reason: 'idempotency_conflict', message: `key ${params.idempotencyKey} was used for a consumption or deduction` } as const;
    }
    const [batch] = await tx
      .insert(creditBatches)
      .values({
        userId: params.userId,
        amount: params.amount,
        remaining: params.amount,
        source: params.source,
        category: params.category,
        effectiveAt,
        expiresAt: params.expiresAt ?? null,
        idempotencyKey: params.idempotencyKey,
        subscriptionId: params.subscriptionId ?? null,
        scheduleId: params.scheduleId ?? null,
        installment: params.installment ?? null,
        purchaseId: params.purchaseId ?? null,
        jobRunId: params.jobRunId ?? null,
        createdAt: now,
      })
      .onConflictDoNothing({ target: creditBatches.idempotencyKey })
      .returning();
    if (!batch) {
      const [existing] = await tx.select().from(creditBatches).where(eq(creditBatches.idempotencyKey, params.idempotencyKey));
      if (!existing) throw new Error(`Batch ${params.idempotencyKey} conflicted but cannot be read`);
      if (existing.userId !== params.userId || existing.amount !== params.amount) {
        return { ok: false, reason: 'idempotency_conflict', message: `key ${params.idempotencyKey} was used for another grant` };
      }
      return { ok: true, replayed: true, batch: existing };
    }
    const balanceAfter = balance + batch.amount;
    await queryRows(
      tx,
      sql`with entry as (
            insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, job_run_id, metadata, created_at)
            values (${batch.userId}, ${batch.amount}, ${balanceAfter}, ${params.kind ?? 'grant'}, ${batch.id}, ${batch.idempotencyKey},
                    ${batch.jobRunId}, ${params.metadata ? JSON.stringify(params.metadata) : null}::jsonb, ${now.toISOString()}::timestamptz)
          )
          update credit_balances
             set balance = balance + ${batch.amount}, total_granted = total_granted + ${batch.amount}, updated_at = ${now.toISOString()}::timestamptz
           where user_id = ${batch.userId}`,
    );
    return { ok: true, replayed: false, batch, balanceAfter };
  });
}
