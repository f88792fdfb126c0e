import 'server-only';
import { eq } from 'drizzle-orm';
import {
  creditsConfig as defaultConfig,
  findPlan,
  YEARLY_TERM_MONTHS,
  type CreditsConfig,
  type Plan,
  type YearlyPlan,
} from '@/config/credits';
import { creditSchedules, subscriptions, type CreditSchedule, type Subscription } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { transaction } from '@/lib/server/db/sql';
import { creditKeys, refuseKey } from '@/lib/server/credits/keys';
import { addUtcDays, addUtcMonths, startOfNextUtcMonth } from '@/lib/server/credits/time';
import { grantCredits, type GrantCreditsResult } from './grant-credits';

export type StartSubscriptionParams = {
  userId: string;
  planId: string;
  /**
   * The subscription's id and idempotency key: the payment provider's subscription id, or the caller's
   * own key. A repeated start with the same id for the same user and plan changes nothing; with another
   * user or plan it is refused. Required: without it a retry could not be told from a second purchase.
   */
  subscriptionId: string;
  now?: Date;
  config?: CreditsConfig;
};

type GrantRefusal = Extract<GrantCreditsResult, { ok: false }>;

export type StartSubscriptionResult =
  | { ok: true; replayed: boolean; subscription: Subscription; schedule: CreditSchedule | null; firstGrant: GrantCreditsResult | null }
  | { ok: false; reason: 'unknown_plan' | 'invalid_key' | 'idempotency_conflict'; message: string }
  | GrantRefusal;

/** Rolls the start back: a plan never starts without its first grant. */
class FirstGrantRefused extends Error {
  constructor(readonly refusal: GrantRefusal) {
    super(refusal.message);
  }
}

/** The n-th installment (1-based) of a plan: equal parts, the last one takes whatever remains. */
export function installmentAmount(plan: Pick<YearlyPlan, 'totalCredits' | 'installments'>, n: number): number {
  const perInstallment = Math.floor(plan.totalCredits / plan.installments);
  return n === plan.installments ? plan.totalCredits - perInstallment * (plan.installments - 1) : perInstallment;
}

/**
 * Starts a plan for a user and grants what is due at once: the first period (monthly), the first
 * installment with a schedule for the rest (yearly), or this month's credits (lifetime).
 */
export async function startSubscription(db: Database, params: StartSubscriptionParams): Promise<StartSubscriptionResult> {
  const now = params.now ?? new Date();
  const plan = findPlan(params.config ?? defaultConfig, params.planId);
  if (!plan) return { ok: false, reason: 'unknown_plan', message: `No plan "${params.planId}"` };
  const refused = refuseKey(params.subscriptionId);
  if (refused) return refused;
  try {
    return await transaction(db, (tx) => start(tx, { ...params, plan, now }));
  } catch (error) {
    if (error instanceof FirstGrantRefused) return error.refusal;
    throw error;
  }
}

async function start(tx: Database, params: StartSubscriptionParams & { plan: Plan; now: Date }): Promise<StartSubscriptionResult> {
  const { plan, now, subscriptionId } = params;
  const [created] = await tx
    .insert(subscriptions)
    .values({
      id: subscriptionId,
      userId: params.userId,
      planId: plan.id,
      billing: plan.billing,
      anchorAt: now,
      endsAt: plan.billing === 'yearly' ? addUtcMonths(now, YEARLY_TERM_MONTHS) : null,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing()
    .returning();
  if (!created) {
    const [existing] = await tx.select().from(subscriptions).where(eq(subscriptions.id, subscriptionId));
    if (existing!.userId !== params.userId || existing!.planId !== plan.id) {
      return {
        ok: false,
        reason: 'idempotency_conflict',
        message: `subscription ${subscriptionId} belongs to another user or plan`,
      } as const;
    }
    const [schedule] = await tx.select().from(creditSchedules).where(eq(creditSchedules.subscriptionId, subscriptionId));
    return { ok: true, replayed: true, subscription: existing!, schedule: schedule ?? null, firstGrant: null };
  }
  const common = { userId: params.userId, category: plan.category, subscriptionId, now } as const;

  if (plan.billing === 'monthly') {
    const firstGrant = await firstGrantOf(tx, {
      ...common,
      amount: plan.creditsPerPeriod,
      source: 'subscription',
      effectiveAt: now,
      expiresAt: addUtcDays(addUtcMonths(now, 1), plan.graceDays),
      idempotencyKey: creditKeys.subscriptionPeriod(subscriptionId, now),
    });
    return { ok: true, replayed: false, subscription: created, schedule: null, firstGrant };
  }

  if (plan.billing === 'lifetime') {
    const firstGrant = await firstGrantOf(tx, {
      ...common,
      amount: plan.creditsPerMonth,
      source: 'lifetime',
      effectiveAt: now,
      expiresAt: startOfNextUtcMonth(now),
      idempotencyKey: creditKeys.lifetimeMonth(subscriptionId, now),
      purchaseId: subscriptionId,
    });
    return { ok: true, replayed: false, subscription: created, schedule: null, firstGrant };
  }

  const first = installmentAmount(plan, 1);
  const done = 1;
  const [schedule] = await tx
    .insert(creditSchedules)
    .values({
      userId: params.userId,
      subscriptionId,
      planId: plan.id,
      category: plan.category,
      creditsPerInstallment: Math.floor(plan.totalCredits / plan.installments),
      installmentsTotal: plan.installments,
      installmentsDone: done,
      creditsTotal: plan.totalCredits,
      creditsGranted: first,
      creditsRemaining: plan.totalCredits - first,
      intervalMonths: plan.intervalMonths,
      validityDays: plan.validityDays,
      anchorAt: now,
      nextDueAt: plan.installments > done ? addUtcMonths(now, plan.intervalMonths * done) : null,
      status: plan.installments > done ? 'active' : 'completed',
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  const firstGrant = await firstGrantOf(tx, {
    ...common,
    amount: first,
    source: 'schedule',
    effectiveAt: now,
    expiresAt: plan.validityDays ? addUtcDays(now, plan.validityDays) : null,
    idempotencyKey: creditKeys.installment(schedule!.id, 1),
    scheduleId: schedule!.id,
    installment: 1,
  });
  return { ok: true, replayed: false, subscription: created, schedule: schedule!, firstGrant };
}

async function firstGrantOf(tx: Database, params: Parameters<typeof grantCredits>[1]): Promise<GrantCreditsResult> {
  const grant = await grantCredits(tx, params);
  if (!grant.ok) throw new FirstGrantRefused(grant);
  return grant;
}
