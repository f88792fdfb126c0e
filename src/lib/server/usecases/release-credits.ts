import 'server-only';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { holdStatuses } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { callCreditsFunction } from '@/lib/server/credits/database-call';
import { holdNotFound, refuseHoldKey, type HoldRefusal } from '@/lib/server/credits/holds';

export type ReleaseCreditsParams = {
  holdKey: string;
  /** The hold's user, when the caller knows it: a hold of anyone else is `hold_not_found`. */
  userId?: string;
  now?: Date;
};

export type ReleaseCreditsResult =
  | { ok: true; replayed: boolean; holdKey: string; released: number; status: 'released' | 'expired' }
  | HoldRefusal
  | { ok: false; reason: 'hold_captured'; message: string };

// The answer of `credits_release` (drizzle/0010_hold_functions.sql).
const releaseOutcome = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.enum(['released', 'replayed']), released: z.number(), status: z.enum(holdStatuses).exclude(['held', 'captured']) }),
  z.object({ outcome: z.enum(['not_found', 'captured']) }),
]);

/**
 * Gives all of a hold back to the batches it came from (a batch that expired meanwhile loses them at
 * once). Releasing a released hold replays; a captured hold is refused.
 */
export async function releaseCredits(db: Database, params: ReleaseCreditsParams): Promise<ReleaseCreditsResult> {
  const refused = refuseHoldKey(params.holdKey);
  if (refused) return refused;
  const now = params.now ?? new Date();
  const outcome = releaseOutcome.parse(
    await callCreditsFunction(
      db,
      sql`select credits_release(${params.holdKey}::text, ${params.userId ?? null}::text, ${now.toISOString()}::timestamptz) as outcome`,
    ),
  );
  const key = params.holdKey;
  switch (outcome.outcome) {
    case 'released':
    case 'replayed':
      return { ok: true, replayed: outcome.outcome === 'replayed', holdKey: key, released: outcome.released, status: outcome.status };
    case 'not_found':
      return holdNotFound(key);
    case 'captured':
      return {
        ok: false,
        reason: 'hold_captured',
        message: `hold ${key} was captured: use a refund or an adjustment to give credits back`,
      };
  }
}
