import 'server-only';
import { eq, sql } from 'drizzle-orm';
import { type MonthlyPlan, type YearlyPlan } from '@/config/credits';
import { creditBatches, subscriptions, type Subscription } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import type { BillingEventOf } from '@/lib/server/payments/events';
import {
  addCreditsToPayment,
  lockSubscription,
  paymentValues,
  recordPayment,
  rememberCustomer,
  subscriptionPlanPaid,
} from '@/lib/server/payments/records';
import { creditKeys } from '@/lib/server/credits/keys';
import { addUtcDays, addUtcMonths, periodIndexAt } from '@/lib/server/credits/time';
import type { BillingContext, BillingOutcome } from './apply-billing-webhook';
import { grantCredits } from './grant-credits';
import { applyRememberedEnd } from './update-subscription-state';
import { startTerm, termEnd } from './start-subscription';

/** How far a provider's period start may sit from the one computed from the anchor and still be that period. */
const PERIOD_START_TOLERANCE_MS = 24 * 60 * 60 * 1000;

/**
 * A subscription invoice paid. Monthly: that period is granted under the period key of docs/credits.md
 * (the one the grant job uses, so the two never both grant it) and the subscription is paid through
 * its end. Yearly: that term's schedule starts and its first installment is granted. A subscription the
 * app has not seen yet is created from the invoice, so its user is a subscriber from this moment.
 */
export async function recordSubscriptionPayment(
  tx: Database,
  event: BillingEventOf<'subscription_period_paid'>,
  ctx: BillingContext,
): Promise<Omit<BillingOutcome, 'type'>> {
  const { plan, ignored } = await subscriptionPlanPaid(tx, event, ctx.config);
  if (!plan) return { result: 'ignored', detail: ignored };
  await rememberCustomer(tx, ctx.provider, event.customerId, event.userId);
  const { subscription, created } = await findOrCreateSubscription(tx, event, ctx, plan);
  const outcome = await recordPaidPeriod(tx, event, ctx, plan, subscription);
  // Its end may have come first (a deletion delivered before this invoice): it ends now, after the grant.
  if (created) await applyRememberedEnd(tx, (await lockSubscription(tx, subscription.id))!, ctx);
  return outcome;
}

async function recordPaidPeriod(
  tx: Database,
  event: BillingEventOf<'subscription_period_paid'>,
  ctx: BillingContext,
  plan: MonthlyPlan | YearlyPlan,
  subscription: Subscription,
): Promise<Omit<BillingOutcome, 'type'>> {
  const common = { ...paymentValues(ctx, event, plan.id), subscriptionId: subscription.id };
  const id = common.id;
  // The latest period paid decides the plan the next periods are granted for (a downgrade takes effect
  // here), unless the provider said something newer of the plan (a state event, a paid plan change):
  // a renewal collected late must not undo an upgrade made meanwhile.
  const latest = !subscription.currentPeriodEnd || event.periodEnd >= subscription.currentPeriodEnd;
  const decidesPlan = latest && (!subscription.providerUpdatedAt || event.periodStart >= subscription.providerUpdatedAt);

  if (plan.billing === 'yearly') {
    const recorded = await recordPayment(tx, { ...common, kind: 'term', periodStart: event.periodStart, periodEnd: event.periodEnd }, ctx);
    if (!recorded.created) return { result: 'replayed' };
    const term = await startTerm(tx, {
      plan,
      userId: event.userId,
      subscriptionId: subscription.id,
      anchor: event.periodStart,
      paymentId: id,
      now: ctx.now,
    });
    const credits = term.firstGrant?.ok ? term.firstGrant.batch.amount : 0;
    await addCreditsToPayment(tx, id, credits);
    await tx
      .update(subscriptions)
      .set({
        endsAt: sql`greatest(${subscriptions.endsAt}, ${termEnd(event.periodStart).toISOString()}::timestamptz)`,
        ...(latest ? { currentPeriodEnd: event.periodEnd } : {}),
        ...(decidesPlan ? { planId: plan.id, billing: plan.billing } : {}),
        ...paidState(subscription, ctx.now),
      })
      .where(eq(subscriptions.id, subscription.id));
    return { result: 'applied', detail: `term from ${event.periodStart.toISOString()}, first installment ${credits} credits` };
  }

  const period = anchoredPeriod(subscription, event);
  const key = creditKeys.subscriptionPeriod(subscription.id, period.start);
  // The period granted already by another payment (a duplicate charge): this one bought nothing, and
  // its refund must take nothing. Granted by the job (no payment) or by this payment: it is this one's.
  const [granted] = await tx.select().from(creditBatches).where(eq(creditBatches.idempotencyKey, key));
  const duplicate = granted !== undefined && granted.purchaseId !== null && granted.purchaseId !== id;
  const recorded = await recordPayment(
    tx,
    {
      ...common,
      kind: 'period',
      grantKey: duplicate ? null : key,
      periodStart: period.start,
      periodEnd: period.end,
    },
    ctx,
  );
  if (!recorded.created) return { result: 'replayed' };
  await tx
    .update(subscriptions)
    .set({
      anchorAt: period.anchor,
      paidThrough: sql`greatest(${subscriptions.paidThrough}, ${period.end.toISOString()}::timestamptz)`,
      ...(latest ? { currentPeriodEnd: event.periodEnd } : {}),
      // A monthly plan runs until canceled: a yearly plan renewed as monthly drops its term's end.
      ...(decidesPlan ? { planId: plan.id, billing: plan.billing, endsAt: null } : {}),
      ...paidState(subscription, ctx.now),
    })
    .where(eq(subscriptions.id, subscription.id));
  if (duplicate) {
    console.error(
      `[billing] payment ${id} paid for ${key}, which payment ${granted.purchaseId} had paid: nothing granted (refund the duplicate)`,
    );
    return { result: 'applied', detail: `duplicate of ${granted.purchaseId}: nothing granted` };
  }
  const credits = await grantPeriod(tx, { subscription, plan, period, key, paymentId: id, ctx });
  return { result: 'applied', detail: credits === null ? 'period already over: nothing granted' : `${credits} credits` };
}

/** A paid invoice ends `past_due`; a canceled subscription stays canceled (a late invoice still grants what it paid for). */
function paidState(subscription: Subscription, now: Date) {
  return subscription.status === 'past_due' ? { status: 'active' as const, updatedAt: now } : { updatedAt: now };
}

async function findOrCreateSubscription(
  tx: Database,
  event: BillingEventOf<'subscription_period_paid'>,
  ctx: BillingContext,
  plan: { id: string; billing: 'monthly' | 'yearly' },
): Promise<{ subscription: Subscription; created: boolean }> {
  const inserted = await tx
    .insert(subscriptions)
    .values({
      id: event.subscriptionId,
      userId: event.userId,
      planId: plan.id,
      billing: plan.billing,
      provider: ctx.provider,
      customerId: event.customerId ?? null,
      anchorAt: event.periodStart,
      endsAt: plan.billing === 'yearly' ? termEnd(event.periodStart) : null,
      currentPeriodEnd: event.periodEnd,
      createdAt: ctx.now,
      updatedAt: ctx.now,
    })
    .onConflictDoNothing()
    .returning({ id: subscriptions.id });
  const subscription = await lockSubscription(tx, event.subscriptionId);
  if (subscription!.userId !== event.userId) throw new Error(`subscription ${event.subscriptionId} belongs to another user`);
  if (subscription!.provider !== ctx.provider)
    throw new Error(`subscription ${event.subscriptionId} is billed by ${subscription!.provider ?? 'an operator'}`);
  return { subscription: subscription!, created: inserted.length > 0 };
}

/**
 * The period of the subscription's anchor that the provider's period start names: the same instant
 * the grant job computes, so both use one key. A provider that moved the billing cycle (a period start
 * far from every anchored one) re-anchors the subscription there.
 */
function anchoredPeriod(
  subscription: Subscription,
  paid: { periodStart: Date; periodEnd: Date },
): { anchor: Date; start: Date; end: Date } {
  const n = periodIndexAt(subscription.anchorAt, new Date(paid.periodStart.getTime() + PERIOD_START_TOLERANCE_MS));
  const start = n >= 0 ? addUtcMonths(subscription.anchorAt, n) : null;
  if (start && Math.abs(start.getTime() - paid.periodStart.getTime()) <= PERIOD_START_TOLERANCE_MS) {
    return { anchor: subscription.anchorAt, start, end: addUtcMonths(subscription.anchorAt, n + 1) };
  }
  // An invoice of an earlier cycle delivered late: its own period, under its own key; the anchor (and
  // so every period the grant job computes) stays where the newer cycle put it.
  if (paid.periodStart < subscription.anchorAt) return { anchor: subscription.anchorAt, start: paid.periodStart, end: paid.periodEnd };
  return { anchor: paid.periodStart, start: paid.periodStart, end: addUtcMonths(paid.periodStart, 1) };
}

/** Grants the period (unless the job already did, under the same key); null when its credits would already be expired. */
async function grantPeriod(
  tx: Database,
  p: {
    subscription: Subscription;
    plan: MonthlyPlan;
    period: { start: Date; end: Date };
    key: string;
    paymentId: string;
    ctx: BillingContext;
  },
): Promise<number | null> {
  const [granted] = await tx.select().from(creditBatches).where(eq(creditBatches.idempotencyKey, p.key));
  if (granted) {
    await addCreditsToPayment(tx, p.paymentId, granted.amount);
    return granted.amount;
  }
  const expiresAt = addUtcDays(p.period.end, p.plan.graceDays);
  // As the grant job: a period whose credits would be born expired is not granted.
  if (expiresAt <= p.ctx.now) return null;
  const grant = await grantCredits(tx, {
    userId: p.subscription.userId,
    amount: p.plan.creditsPerPeriod,
    source: 'subscription',
    category: p.plan.category,
    effectiveAt: p.period.start,
    expiresAt,
    idempotencyKey: p.key,
    subscriptionId: p.subscription.id,
    purchaseId: p.paymentId,
    now: p.ctx.now,
  });
  if (!grant.ok) throw new Error(`period ${p.key} could not be granted: ${grant.message}`);
  await addCreditsToPayment(tx, p.paymentId, grant.batch.amount);
  return grant.batch.amount;
}
