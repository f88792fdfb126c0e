import 'server-only';
import { eq, sql } from 'drizzle-orm';
import { findPlan, type MonthlyPlan } from '@/config/credits';
import { creditBatches, subscriptions, type Subscription } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import type { BillingEventOf } from '@/lib/server/payments/events';
import {
  addCreditsToPayment,
  lockSubscription,
  paymentRowId,
  recordPayment,
  rememberCustomer,
  whyNotCredited,
} from '@/lib/server/payments/records';
import { creditKeys } from '@/lib/server/credits/keys';
import { addUtcDays, addUtcMonths, periodIndexAt } from '@/lib/server/credits/time';
import type { BillingContext, BillingOutcome } from './apply-billing-webhook';
import { grantCredits } from './grant-credits';
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
  const plan = findPlan(ctx.config, event.productId);
  const ignored = await whyNotCredited(tx, {
    ...event,
    productFits: plan !== undefined && plan.billing !== 'lifetime',
    expected: 'a monthly or yearly plan',
  });
  if (ignored || !plan || plan.billing === 'lifetime') return { result: 'ignored', detail: ignored ?? undefined };
  await rememberCustomer(tx, ctx.provider, event.customerId, event.userId);
  const subscription = await findOrCreateSubscription(tx, event, ctx, plan);
  const id = paymentRowId(ctx.provider, event.paymentId);
  const common = {
    id,
    provider: ctx.provider,
    providerPaymentId: event.paymentId,
    providerChargeId: event.chargeId ?? null,
    userId: event.userId,
    productId: plan.id,
    subscriptionId: subscription.id,
    amount: event.amount,
    currency: event.currency,
    paidAt: event.paidAt,
    createdAt: ctx.now,
  };
  // The latest period paid decides the plan the next periods are granted for (a downgrade takes effect here).
  const latest = !subscription.currentPeriodEnd || event.periodEnd >= subscription.currentPeriodEnd;

  if (plan.billing === 'yearly') {
    const recorded = await recordPayment(tx, { ...common, kind: 'term', periodStart: event.periodStart, periodEnd: event.periodEnd });
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
        ...(latest ? { planId: plan.id, billing: plan.billing, currentPeriodEnd: event.periodEnd } : {}),
        ...paidState(subscription, ctx.now),
      })
      .where(eq(subscriptions.id, subscription.id));
    return { result: 'applied', detail: `term from ${event.periodStart.toISOString()}, first installment ${credits} credits` };
  }

  const period = anchoredPeriod(subscription, event.periodStart);
  const key = creditKeys.subscriptionPeriod(subscription.id, period.start);
  const recorded = await recordPayment(tx, {
    ...common,
    kind: 'period',
    grantKey: key,
    periodStart: period.start,
    periodEnd: period.end,
  });
  if (!recorded.created) return { result: 'replayed' };
  await tx
    .update(subscriptions)
    .set({
      anchorAt: period.anchor,
      paidThrough: sql`greatest(${subscriptions.paidThrough}, ${period.end.toISOString()}::timestamptz)`,
      ...(latest ? { planId: plan.id, billing: plan.billing, currentPeriodEnd: event.periodEnd } : {}),
      ...paidState(subscription, ctx.now),
    })
    .where(eq(subscriptions.id, subscription.id));
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
): Promise<Subscription> {
  await tx
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
    .onConflictDoNothing();
  const subscription = await lockSubscription(tx, event.subscriptionId);
  if (subscription!.userId !== event.userId) throw new Error(`subscription ${event.subscriptionId} belongs to another user`);
  return subscription!;
}

/**
 * The period of the subscription's anchor that the provider's period start names: the same instant
 * the grant job computes, so both use one key. A provider that moved the billing cycle (a period start
 * far from every anchored one) re-anchors the subscription there.
 */
function anchoredPeriod(subscription: Subscription, providerStart: Date): { anchor: Date; start: Date; end: Date } {
  const n = periodIndexAt(subscription.anchorAt, new Date(providerStart.getTime() + PERIOD_START_TOLERANCE_MS));
  const start = n >= 0 ? addUtcMonths(subscription.anchorAt, n) : null;
  if (start && Math.abs(start.getTime() - providerStart.getTime()) <= PERIOD_START_TOLERANCE_MS) {
    return { anchor: subscription.anchorAt, start, end: addUtcMonths(subscription.anchorAt, n + 1) };
  }
  return { anchor: providerStart, start: providerStart, end: addUtcMonths(providerStart, 1) };
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
