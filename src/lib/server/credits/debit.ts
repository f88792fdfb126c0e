import 'server-only';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '@/lib/server/db/types';
import { refuseAmount, type AmountRefusal } from './amounts';
import { callCreditsFunction } from './database-call';
import { refuseKey } from './keys';

export type DebitParams = {
  userId: string;
  amount: number;
  idempotencyKey: string;
  kind: 'consume' | 'adjust';
  metadata?: Record<string, unknown>;
  now: Date;
};

export type DebitResult =
  | { ok: true; replayed: boolean; amount: number; balanceAfter: number; entries: number }
  | { ok: false; reason: 'insufficient_credits'; requested: number; available: number }
  | AmountRefusal
  | { ok: false; reason: 'invalid_key' | 'idempotency_conflict'; message: string };

/**
 * What a debit's key stands for, kept in its operation row and compared when the key comes again: a
 * grant's request never looks like it (an adjustment's has a delta). `credits_debit` builds the same
 * object in SQL.
 */
export function debitRequest(params: Pick<DebitParams, 'kind' | 'userId' | 'amount'>) {
  return { debit: params.kind, userId: params.userId, amount: params.amount };
}

// The answer of `credits_debit` (drizzle/0005_spend_in_one_round_trip.sql).
const debitOutcome = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.enum(['spent', 'replayed']), amount: z.number(), balanceAfter: z.number(), entries: z.number() }),
  z.object({ outcome: z.literal('short'), available: z.number() }),
  z.object({ outcome: z.literal('conflict') }),
]);

/**
 * Takes `amount` credits from a user's spendable batches in burn-down order: soonest expiry first
 * (never-expiring last), then promotional before paid, then oldest, then id. One ledger entry per
 * batch touched, all under the operation's key. Short of credits: a value, and nothing written.
 *
 * One round trip: the whole debit (balance lock, key check, burn-down, writes) is the database
 * function `credits_debit`, called as a statement of its own, so it commits by itself.
 */
export async function debitCredits(db: Database, params: DebitParams): Promise<DebitResult> {
  const refused = refuseAmount(params.amount) ?? refuseKey(params.idempotencyKey, { forSpend: true });
  if (refused) return refused;
  const metadata = params.metadata ? JSON.stringify(params.metadata) : null;
  const call = sql`select credits_debit(${params.userId}::text, ${params.amount}::bigint, ${params.idempotencyKey}::text,
                          ${params.kind}::text, ${metadata}::jsonb, ${params.now.toISOString()}::timestamptz) as outcome`;
  return toDebitResult(debitOutcome.parse(await callCreditsFunction(db, call)), params);
}

function toDebitResult(outcome: z.infer<typeof debitOutcome>, params: DebitParams): DebitResult {
  switch (outcome.outcome) {
    case 'spent':
    case 'replayed':
      return {
        ok: true,
        replayed: outcome.outcome === 'replayed',
        amount: outcome.amount,
        balanceAfter: outcome.balanceAfter,
        entries: outcome.entries,
      };
    case 'short':
      return { ok: false, reason: 'insufficient_credits', requested: params.amount, available: outcome.available };
    case 'conflict':
      return { ok: false, reason: 'idempotency_conflict', message: `key ${params.idempotencyKey} was used for another operation` };
  }
}
