import 'server-only';
import { and, eq, sql } from 'drizzle-orm';
import { creditsConfig as defaultConfig, findPlan, type CreditsConfig } from '@/config/credits';
import { creditBalances, creditSchedules, subscriptions } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { queryRows } from '@/lib/server/db/sql';
import { addUtcDays, addUtcMonths, periodIndexAt, startOfNextUtcMonth } from '@/lib/server/credits/time';
import { planInForceAt } from '@/lib/server/credits/plans-in-force';

export type NextGrant = { amount: number; date: Date; source: 'subscription' | 'schedule' | 'lifetime' | 'free'; planName: string };

export type CreditSummary = {
  balance: number;
  /** Reserved by work in progress (holds): out of the balance, spent if the work succeeds, back if it fails. */
  held: number;
  /** Spendable now: the balance less credits not yet effective or past expiry but not yet swept by the expiry job. */
  available: number;
  nextExpiry: { amount: number; date: Date } | null;
  expiringWithin30Days: number;
  nextGrant: NextGrant | null;
  totals: { granted: number; consumed: number; expired: number };
};

/** What the app shows a user about their credits: one balance row, a few batch aggregates, their plans. */
export async function getCreditSummary(
  db: Database,
  params: { userId: string; now?: Date; config?: CreditsConfig },
): Promise<CreditSummary> {
  const now = params.now ?? new Date();
  const config = params.config ?? defaultConfig;
  const iso = now.toISOString();
  const in30Days = addUtcDays(now, 30).toISOString();
  const [balanceRow] = await db.select().from(creditBalances).where(eq(creditBalances.userId, params.userId));
  const [batchStats] = await queryRows<{ available: number; next_expiry: string | null; expiring_30: number }>(
    db,
    sql`select coalesce(sum(remaining) filter (where effective_at <= ${iso}::timestamptz and (expires_at is null or expires_at > ${iso}::timestamptz)), 0)::bigint as available,
               min(expires_at) filter (where expires_at > ${iso}::timestamptz)::text as next_expiry,
               coalesce(sum(remaining) filter (where expires_at > ${iso}::timestamptz and expires_at <= ${in30Days}::timestamptz), 0)::bigint as expiring_30
          from credit_batches
         where user_id = ${params.userId} and expired_at is null and remaining > 0`,
  );
  let nextExpiry: CreditSummary['nextExpiry'] = null;
  if (batchStats?.next_expiry) {
    const date = new Date(batchStats.next_expiry);
    const [sameInstant] = await queryRows<{ amount: number }>(
      db,
      sql`select coalesce(sum(remaining), 0)::bigint as amount from credit_batches
           where user_id = ${params.userId} and expired_at is null and remaining > 0 and expires_at = ${date.toISOString()}::timestamptz`,
    );
    nextExpiry = { amount: sameInstant?.amount ?? 0, date };
  }
  return {
    balance: balanceRow?.balance ?? 0,
    held: balanceRow?.held ?? 0,
    available: batchStats?.available ?? 0,
    nextExpiry,
    expiringWithin30Days: batchStats?.expiring_30 ?? 0,
    nextGrant: await findNextGrant(db, params.userId, now, config),
    totals: {
      granted: balanceRow?.totalGranted ?? 0,
      consumed: balanceRow?.totalConsumed ?? 0,
      expired: balanceRow?.totalExpired ?? 0,
    },
  };
}

async function findNextGrant(db: Database, userId: string, now: Date, config: CreditsConfig): Promise<NextGrant | null> {
  const subs = (await db.select().from(subscriptions).where(eq(subscriptions.userId, userId))).filter((sub) => planInForceAt(sub, now));
  const schedules = await db
    .select()
    .from(creditSchedules)
    .where(and(eq(creditSchedules.userId, userId), eq(creditSchedules.status, 'active')));
  const candidates: NextGrant[] = [];
  for (const sub of subs) {
    const plan = findPlan(config, sub.planId);
    if (!plan) continue;
    if (plan.billing === 'monthly') {
      const date = addUtcMonths(sub.anchorAt, periodIndexAt(sub.anchorAt, now) + 1);
      candidates.push({ amount: plan.creditsPerPeriod, date, source: 'subscription', planName: plan.name });
    } else if (plan.billing === 'lifetime') {
      candidates.push({ amount: plan.creditsPerMonth, date: startOfNextUtcMonth(now), source: 'lifetime', planName: plan.name });
    }
  }
  for (const schedule of schedules) {
    if (!schedule.nextDueAt) continue;
    const n = schedule.installmentsDone + 1;
    const amount = n === schedule.installmentsTotal ? schedule.creditsRemaining : schedule.creditsPerInstallment;
    candidates.push({
      amount,
      date: schedule.nextDueAt,
      source: 'schedule',
      planName: findPlan(config, schedule.planId)?.name ?? schedule.planId,
    });
  }
  if (subs.length === 0) {
    candidates.push({ amount: config.freeTier.credits, date: startOfNextUtcMonth(now), source: 'free', planName: 'Free' });
  }
  candidates.sort((a, b) => a.date.getTime() - b.date.getTime());
  return candidates[0] ?? null;
}
