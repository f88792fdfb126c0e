import 'server-only';
import type { Database } from '@/lib/server/db/types';
import type { CreditCategory } from '@/lib/server/db/schema';
import { debitCredits, type DebitResult } from '@/lib/server/credits/debit';
import { addUtcDays } from '@/lib/server/credits/time';
import { grantCredits, type GrantCreditsResult } from './grant-credits';

export type AdjustCreditsParams = {
  userId: string;
  /** Positive: credits given (a new batch). Negative: credits taken back in burn-down order, never below zero. */
  delta: number;
  reason: string;
  idempotencyKey: string;
  /** For a positive adjustment: days until the credits expire (null or absent: never). */
  validityDays?: number | null;
  category?: CreditCategory;
  actor?: string;
  now?: Date;
};

export type AdjustCreditsResult = GrantCreditsResult | DebitResult | { ok: false; reason: 'invalid_amount'; message: string };

/** An operator's correction, recorded as `adjust` ledger entries with the reason and who made it. */
export async function adjustCredits(db: Database, params: AdjustCreditsParams): Promise<AdjustCreditsResult> {
  const now = params.now ?? new Date();
  const metadata = { reason: params.reason, ...(params.actor ? { actor: params.actor } : {}) };
  // The size of a change is checked by the grant or the debit it becomes (at most MAX_CREDITS either way).
  if (!Number.isInteger(params.delta) || params.delta === 0) {
    return { ok: false, reason: 'invalid_amount', message: 'delta must be a non-zero whole number' };
  }
  if (params.delta > 0) {
    return grantCredits(db, {
      userId: params.userId,
      amount: params.delta,
      source: 'admin',
      category: params.category ?? 'promotional',
      expiresAt: params.validityDays ? addUtcDays(now, params.validityDays) : null,
      idempotencyKey: params.idempotencyKey,
      kind: 'adjust',
      metadata,
      // What the operator asked for: a retry minutes later (another \`now\`, so another expiry) is the same adjustment.
      request: {
        userId: params.userId,
        delta: params.delta,
        validityDays: params.validityDays ?? null,
        category: params.category ?? 'promotional',
      },
      now,
    });
  }
  return debitCredits(db, {
    userId: params.userId,
    amount: -params.delta,
    idempotencyKey: params.idempotencyKey,
    kind: 'adjust',
    metadata,
    now,
  });
}
