import 'server-only';
import { and, eq } from 'drizzle-orm';
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
      endsAt: plan.billing === 'yearly' ? termEnd(now) : null,
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
    const [schedule] = await tx
      .select()
      .from(creditSchedules)
      .where(and(eq(creditSchedules.subscriptionId, subscriptionId), eq(creditSchedules.anchorAt, existing!.anchorAt)));
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

  const term = await startTerm(tx, { plan, userId: params.userId, subscriptionId, anchor: now, paymentId: null, now });
  return { ok: true, replayed: false, subscription: created, schedule: term.schedule, firstGrant: term.firstGrant };
}

/**
 * A yearly plan's term from `anchor`: its installment schedule and the first installment, granted now.
 * One term per (subscription, anchor): a renewal paid again is a new term with its own schedule; the
 * same term started again changes nothing and answers its schedule with `firstGrant: null`.
 */
export async function startTerm(
  tx: Database,
  params: { plan: YearlyPlan; userId: string; subscriptionId: string; anchor: Date; paymentId: string | null; now: Date },
): Promise<{ schedule: CreditSchedule; firstGrant: GrantCreditsResult | null }> {
  const { plan, anchor, now } = params;
  const first = installmentAmount(plan, 1);
  const done = 1;
  const [schedule] = await tx
    .insert(creditSchedules)
    .values({
      userId: params.userId,
      subscriptionId: params.subscriptionId,
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
      anchorAt: anchor,
      paymentId: params.paymentId,
      nextDueAt: plan.installments > done ? addUtcMonths(anchor, plan.intervalMonths * done) : null,
      status: plan.installments > done ? 'active' : 'completed',
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing()
    .returning();
  if (!schedule) {
    const [existing] = await tx
      .select()
      .from(creditSchedules)
      .where(and(eq(creditSchedules.subscriptionId, params.subscriptionId), eq(creditSchedules.anchorAt, anchor)));
    return { schedule: existing!, firstGrant: null };
  }
  const firstGrant = await firstGrantOf(tx, {
    userId: params.userId,
    category: plan.category,
    subscriptionId: params.subscriptionId,
    amount: first,
    source: 'schedule',
    effectiveAt: now,
    expiresAt: plan.validityDays ? addUtcDays(now, plan.validityDays) : null,
    idempotencyKey: creditKeys.installment(schedule.id, 1),
    scheduleId: schedule.id,
    installment: 1,
    now,
  });
  return { schedule, firstGrant };
}

/** A yearly term's end: YEARLY_TERM_MONTHS after its anchor (every installment falls within it, src/config checks). */
export function termEnd(anchor: Date): Date {
  return addUtcMonths(anchor, YEARLY_TERM_MONTHS);
}

async function firstGrantOf(tx: Database, params: Parameters<typeof grantCredits>[1]): Promise<GrantCreditsResult> {
  const grant = await grantCredits(tx, params);
  if (!grant.ok) throw new FirstGrantRefused(grant);
  return grant;
}
