import 'server-only';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '@/lib/server/db/types';
import { refuseAmount, type AmountRefusal } from '@/lib/server/credits/amounts';
import { callCreditsFunction } from '@/lib/server/credits/database-call';
import { holdNotFound, refuseHoldKey, type HoldRefusal } from '@/lib/server/credits/holds';

export type CaptureCreditsParams = {
  holdKey: string;
  /** What to keep as spent, at most what was reserved; the rest is released. Absent: all of it. */
  amount?: number;
  /** The hold's user, when the caller knows it: a hold of anyone else is `hold_not_found`. */
  userId?: string;
  now?: Date;
};

export type CaptureCreditsResult =
  | { ok: true; replayed: boolean; holdKey: string; captured: number; released: number }
  | HoldRefusal
  | AmountRefusal
  | { ok: false; reason: 'hold_released' | 'hold_expired' | 'idempotency_conflict'; message: string }
  | { ok: false; reason: 'amount_exceeds_hold'; requested: number; reserved: number };

// The answer of `credits_capture` (drizzle/0010_hold_functions.sql).
const captureOutcome = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.enum(['captured', 'replayed']), captured: z.number(), released: z.number() }),
  z.object({ outcome: z.literal('too_much'), reserved: z.number() }),
  z.object({ outcome: z.enum(['not_found', 'released', 'expired', 'conflict']) }),
]);

/**
 * Turns a hold into a spend: `amount` (all of it by default) stays spent, counted against the batches
 * that burn down first; the rest goes back to its batches. The same capture again replays; a capture
 * of another amount is a conflict. A hold already released, or whose time ran out, is refused (a
 * capture after the time also releases it).
 */
export async function captureCredits(db: Database, params: CaptureCreditsParams): Promise<CaptureCreditsResult> {
  const refused = refuseHoldKey(params.holdKey) ?? (params.amount === undefined ? null : refuseAmount(params.amount));
  if (refused) return refused;
  const now = params.now ?? new Date();
  const outcome = captureOutcome.parse(
    await callCreditsFunction(
      db,
      sql`select credits_capture(${params.holdKey}::text, ${params.userId ?? null}::text, ${params.amount ?? null}::bigint,
                                 ${now.toISOString()}::timestamptz) as outcome`,
    ),
  );
  const key = params.holdKey;
  switch (outcome.outcome) {
    case 'captured':
    case 'replayed':
      return { ok: true, replayed: outcome.outcome === 'replayed', holdKey: key, captured: outcome.captured, released: outcome.released };
    case 'too_much':
      return { ok: false, reason: 'amount_exceeds_hold', requested: params.amount!, reserved: outcome.reserved };
    case 'not_found':
      return holdNotFound(key);
    case 'released':
      return { ok: false, reason: 'hold_released', message: `hold ${key} was released: nothing left to capture` };
    case 'expired':
      return { ok: false, reason: 'hold_expired', message: `hold ${key} ran out of time before its capture: its credits were released` };
    case 'conflict':
      return { ok: false, reason: 'idempotency_conflict', message: `hold ${key} was already captured for another amount` };
  }
}
