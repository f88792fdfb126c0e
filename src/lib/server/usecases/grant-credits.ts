import 'server-only';
import { isDeepStrictEqual } from 'node:util';
import { eq, sql } from 'drizzle-orm';
import { MAX_CREDITS } from '@/config/credits';
import { creditBatches, creditOperations, type CreditBatch, type NewCreditBatch } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { pgErrorCode, queryRows, transaction } from '@/lib/server/db/sql';
import { lockBalance } from '@/lib/server/credits/balances';
import { refuseAmount, type AmountRefusal } from '@/lib/server/credits/amounts';
import { refuseKey } from '@/lib/server/credits/keys';

export type GrantCreditsParams = Pick<
  NewCreditBatch,
  | 'userId'
  | 'amount'
  | 'source'
  | 'category'
  | 'expiresAt'
  | 'idempotencyKey'
  | 'subscriptionId'
  | 'scheduleId'
  | 'installment'
  | 'purchaseId'
  | 'jobRunId'
> & {
  /** When the credits become spendable; defaults to `now`. */
  effectiveAt?: Date;
  /** `adjust` for an admin's positive adjustment, `refund` for credits given back. */
  kind?: GrantKind;
  metadata?: Record<string, unknown>;
  /**
   * What the caller asked for, compared when the key comes again. A usecase that derives the amount or
   * the expiry from its own inputs and the clock (a pack bought, an adjustment) passes those inputs, so
   * a retry a minute later is a replay; by default the grant's own user, amount, source, category,
   * kind and expiry.
   */
  request?: Record<string, unknown>;
  now?: Date;
};

type GrantKind = 'grant' | 'adjust' | 'refund';

export type GrantCreditsResult =
  | { ok: true; replayed: false; batch: CreditBatch; balanceAfter: number }
  | { ok: true; replayed: true; batch: CreditBatch }
  | AmountRefusal
  | { ok: false; reason: 'invalid_expiry' | 'invalid_key' | 'idempotency_conflict' | 'balance_out_of_range'; message: string };

const GRANT_KINDS: readonly string[] = ['grant', 'adjust', 'refund'] satisfies GrantKind[];

/**
 * The one primitive every source of credits goes through: an operation row under the key, a batch,
 * its ledger entry and the new balance, written together. The same request again changes nothing and
 * returns the batch granted the first time; the same key with other parameters is refused.
 */
export async function grantCredits(db: Database, params: GrantCreditsParams): Promise<GrantCreditsResult> {
  const now = params.now ?? new Date();
  const effectiveAt = params.effectiveAt ?? now;
  const refused = refuseAmount(params.amount) ?? refuseKey(params.idempotencyKey);
  if (refused) return refused;
  if (params.expiresAt && params.expiresAt <= effectiveAt) {
    return { ok: false, reason: 'invalid_expiry', message: 'expiresAt must be after effectiveAt' };
  }
  const kind = params.kind ?? 'grant';
  // As the database will give it back (JSON: no undefined, dates as strings), so a replay compares like with like.
  const request = JSON.parse(
    JSON.stringify(
      params.request ?? {
        userId: params.userId,
        amount: params.amount,
        source: params.source,
        category: params.category,
        kind,
        expiresAt: params.expiresAt ?? null,
      },
    ),
  ) as Record<string, unknown>;
  try {
    return await transaction(db, async (tx) => {
      const { balance, held } = await lockBalance(tx, params.userId);
      // Read after the lock: a grant of the same key to this user that committed meanwhile is seen.
      const replay = await replayGrant(tx, params.idempotencyKey, request, params);
      if (replay) return replay;
      // Held credits come back to the balance when their hold is released: that must always be possible.
      if (balance + held + params.amount > MAX_CREDITS) {
        return { ok: false, reason: 'balance_out_of_range', message: `the balance would exceed ${MAX_CREDITS} credits` } as const;
      }
      const balanceAfter = balance + params.amount;
      // The operation row is the key's claim: a racing call with the same key (another user's grant,
      // or a spend) fails on its primary key, and the catch below answers from what it wrote.
      await tx.insert(creditOperations).values({
        key: params.idempotencyKey,
        userId: params.userId,
        kind,
        amount: params.amount,
        balanceAfter,
        request,
        createdAt: now,
      });
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
        .returning();
      await queryRows(
        tx,
        sql`with entry as (
              insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, job_run_id, metadata, created_at)
              values (${batch!.userId}, ${batch!.amount}, ${balanceAfter}, ${kind}, ${batch!.id}, ${batch!.idempotencyKey},
                      ${batch!.jobRunId}, ${params.metadata ? JSON.stringify(params.metadata) : null}::jsonb, ${now.toISOString()}::timestamptz)
            )
            update credit_balances
               set balance = balance + ${batch!.amount}, total_granted = total_granted + ${batch!.amount}, updated_at = ${now.toISOString()}::timestamptz
             where user_id = ${batch!.userId}`,
      );
      return { ok: true, replayed: false, batch: batch!, balanceAfter } as const;
    });
  } catch (error) {
    if (pgErrorCode(error) === '23505') {
      const replay = await replayGrant(db, params.idempotencyKey, request, params);
      if (replay) return replay;
    }
    throw error;
  }
}

/**
 * What a key already names, answered as a grant: the first grant's batch when this is the same request,
 * a conflict when it is another request or not a grant at all; undefined when the key is unused.
 */
async function replayGrant(
  db: Database,
  key: string,
  request: Record<string, unknown>,
  params: Pick<GrantCreditsParams, 'userId' | 'amount' | 'source' | 'category'>,
): Promise<GrantCreditsResult | undefined> {
  const [operation] = await db.select().from(creditOperations).where(eq(creditOperations.key, key));
  if (!operation) return undefined;
  const conflict = (what: string) => ({ ok: false, reason: 'idempotency_conflict', message: `key ${key} was used for ${what}` }) as const;
  if (!GRANT_KINDS.includes(operation.kind))
    return conflict(operation.kind === 'consume' ? 'a consumption' : operation.kind === 'reserve' ? 'a hold' : 'a deduction');
  const [batch] = await db.select().from(creditBatches).where(eq(creditBatches.idempotencyKey, key));
  // A deduction's operation is an `adjust` too, but it has no batch.
  if (!batch) return conflict('a deduction');
  // Grants written by the jobs keep no request (their keys are derived from what they grant): compare the batch itself.
  const same = operation.request
    ? isDeepStrictEqual(operation.request, request)
    : batch.userId === params.userId &&
      batch.amount === params.amount &&
      batch.source === params.source &&
      batch.category === params.category;
  return same ? { ok: true, replayed: true, batch } : conflict('another grant');
}
