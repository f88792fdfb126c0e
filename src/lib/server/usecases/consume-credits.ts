import 'server-only';
import type { Database } from '@/lib/server/db/types';
import { debitCredits, type DebitResult } from '@/lib/server/credits/debit';

export type ConsumeCreditsParams = {
  userId: string;
  amount: number;
  /** What the credits paid for, kept in the ledger's metadata. */
  reason: string;
  /** One per attempt of the caller's action: a retry with the same key changes nothing. */
  idempotencyKey: string;
  metadata?: Record<string, unknown>;
  now?: Date;
};

export type ConsumeCreditsResult = DebitResult;

/** Spends credits in burn-down order; `{ ok: false, reason: 'insufficient_credits' }` when short. */
export function consumeCredits(db: Database, params: ConsumeCreditsParams): Promise<ConsumeCreditsResult> {
  return debitCredits(db, {
    userId: params.userId,
    amount: params.amount,
    idempotencyKey: params.idempotencyKey,
    kind: 'consume',
    metadata: { reason: params.reason, ...params.metadata },
    now: params.now ?? new Date(),
  });
}
