import 'server-only';
import { and, eq } from 'drizzle-orm';
import { creditsConfig as defaultConfig, type CreditsConfig } from '@/config/credits';
import { creditBatches, subscriptions } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { transaction } from '@/lib/server/db/sql';
import { creditKeys } from '@/lib/server/credits/keys';
import { addUtcDays, startOfNextUtcMonth, startOfUtcMonth } from '@/lib/server/credits/time';
import { planInForceDuringMonth } from '@/lib/server/credits/plans-in-force';
import { grantCredits } from './grant-credits';

export type GrantWelcomeCreditsParams = { userId: string; now?: Date; config?: CreditsConfig };

/**
 * What a user receives once their e-mail address is verified (never before: an unverified sign-up
 * costs a script nothing, see docs/accounts.md): the sign-up bonus and, without a paid plan this
 * month, this month's free credits. Keyed (`signup:{userId}`, `free:{userId}:{YYYY-MM}`), so calling
 * it twice grants nothing more and the grant job later skips the month already given.
 */
export async function grantWelcomeCredits(db: Database, params: GrantWelcomeCreditsParams) {
  const now = params.now ?? new Date();
  const config = params.config ?? defaultConfig;
  return transaction(db, async (tx) => {
    const bonus = await grantCredits(tx, {
      userId: params.userId,
      amount: config.signupBonus.credits,
      source: 'signup',
      category: config.signupBonus.category,
      expiresAt: config.signupBonus.validityDays ? addUtcDays(now, config.signupBonus.validityDays) : null,
      idempotencyKey: creditKeys.signup(params.userId),
      // Once per user, whenever it runs: the expiry counts from the clock, so it is not part of the request.
      request: { userId: params.userId, source: 'signup' },
      now,
    });
    const [paid] = await tx
      .select({ id: subscriptions.id })
      .from(subscriptions)
      .where(and(eq(subscriptions.userId, params.userId), planInForceDuringMonth('subscriptions', now.toISOString())))
      .limit(1);
    const free = paid
      ? null
      : await grantCredits(tx, {
          userId: params.userId,
          amount: config.freeTier.credits,
          source: 'free',
          category: config.freeTier.category,
          expiresAt: config.freeTier.validityDays ? addUtcDays(now, config.freeTier.validityDays) : startOfNextUtcMonth(now),
          idempotencyKey: creditKeys.free(params.userId, now),
          request: { userId: params.userId, source: 'free', month: startOfUtcMonth(now).toISOString() },
          now,
        });
    return { bonus, free };
  });
}

/**
 * Grants the welcome credits to a verified user who lacks them: what the auth hooks call when an
 * address becomes verified, and, for the signed-in verified user, each request. The auth library
 * marks the address verified and only then runs its hook: a failure in between (the database lost
 * at that instant) would leave a verified user without a sign-up bonus. One index lookup when granted.
 * The caller checks that the address is verified.
 */
export async function ensureWelcomeCredits(db: Database, params: GrantWelcomeCreditsParams): Promise<boolean> {
  const [granted] = await db
    .select({ id: creditBatches.id })
    .from(creditBatches)
    .where(eq(creditBatches.idempotencyKey, creditKeys.signup(params.userId)));
  if (granted) return false;
  await grantWelcomeCredits(db, params);
  return true;
}
