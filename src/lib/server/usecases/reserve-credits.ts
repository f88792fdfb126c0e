import 'server-only';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { creditsConfig } from '@/config/credits';
import { holdStatuses } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { refuseAmount, type AmountRefusal } from '@/lib/server/credits/amounts';
import { callCreditsFunction } from '@/lib/server/credits/database-call';
import { refuseKey } from '@/lib/server/credits/keys';

export type ReserveCreditsParams = {
  userId: string;
  amount: number;
  /** The hold's key: one per attempt of the caller's work. It claims the key namespace like a spend's key. */
  key: string;
  /** How long the hold waits for its capture (default `holds.defaultTtlSeconds` of src/config/credits.ts). */
  ttlSeconds?: number;
  /** What the credits are held for, kept in the hold and its ledger entries. */
  reason?: string;
  metadata?: Record<string, unknown>;
  now?: Date;
};

export type ReserveCreditsResult =
  | {
      ok: true;
      /** True when the key had already reserved this very request: the original hold, in its state now. */
      replayed: boolean;
      holdKey: string;
      amount: number;
      balanceAfter: number;
      expiresAt: Date;
      status: (typeof holdStatuses)[number];
      entries: number;
    }
  | { ok: false; reason: 'insufficient_credits'; requested: number; available: number }
  | AmountRefusal
  | { ok: false; reason: 'invalid_key' | 'invalid_ttl' | 'idempotency_conflict'; message: string };

// The answer of `credits_reserve` (drizzle/0010_hold_functions.sql).
const reserveOutcome = z.discriminatedUnion('outcome', [
  z.object({
    outcome: z.enum(['reserved', 'replayed']),
    amount: z.number(),
    balanceAfter: z.number(),
    expiresAt: z.coerce.date(),
    status: z.enum(holdStatuses),
    entries: z.number(),
  }),
  z.object({ outcome: z.literal('short'), available: z.number() }),
  z.object({ outcome: z.literal('conflict') }),
]);

const ttlSchema = z.number().int().min(1).max(creditsConfig.holds.maxTtlSeconds);

/**
 * Takes `amount` credits out of the user's spendable balance at once, in the burn-down order of a
 * spend, and holds them under `key` until they are captured (kept as spent) or released (given back),
 * or the hold's time runs out (released by the user's next reserve or by the expiry job). Short of
 * credits: a value, and nothing reserved. One database call (`credits_reserve`).
 */
export async function reserveCredits(db: Database, params: ReserveCreditsParams): Promise<ReserveCreditsResult> {
  const refused = refuseAmount(params.amount) ?? refuseKey(params.key, { forSpend: true });
  if (refused) return refused;
  const ttl = ttlSchema.safeParse(params.ttlSeconds ?? creditsConfig.holds.defaultTtlSeconds);
  if (!ttl.success) {
    return {
      ok: false,
      reason: 'invalid_ttl',
      message: `ttlSeconds must be a whole number from 1 to ${creditsConfig.holds.maxTtlSeconds}`,
    };
  }
  const now = params.now ?? new Date();
  const metadata = params.metadata ? JSON.stringify(params.metadata) : null;
  const outcome = reserveOutcome.parse(
    await callCreditsFunction(
      db,
      sql`select credits_reserve(${params.userId}::text, ${params.amount}::bigint, ${params.key}::text, ${ttl.data}::integer,
                                 ${params.reason ?? null}::text, ${metadata}::jsonb, ${now.toISOString()}::timestamptz) as outcome`,
    ),
  );
  switch (outcome.outcome) {
    case 'reserved':
    case 'replayed': {
      const { outcome: kind, ...hold } = outcome;
      return { ok: true, replayed: kind === 'replayed', holdKey: params.key, ...hold };
    }
    case 'short':
      return { ok: false, reason: 'insufficient_credits', requested: params.amount, available: outcome.available };
    case 'conflict':
      return { ok: false, reason: 'idempotency_conflict', message: `key ${params.key} was used for another operation` };
  }
}
