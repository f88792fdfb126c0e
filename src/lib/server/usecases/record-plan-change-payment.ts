import 'server-only';
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { findPlan } from '@/config/credits';
import { creditBatches, payments, subscriptions } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import type { BillingEventOf } from '@/lib/server/payments/events';
import { addCreditsToPayment, lockSubscription, paymentValues, recordPayment, subscriptionPlanPaid } from '@/lib/server/payments/records';
import { creditKeys } from '@/lib/server/credits/keys';
import { addUtcDays, addUtcMonths, periodIndexAt } from '@/lib/server/credits/time';
import type { BillingContext, BillingOutcome } from './apply-billing-webhook';
import { grantCredits } from './grant-credits';
import { recordSubscriptionPayment } from './record-subscription-payment';

/**
 * A plan change paid in the middle of a period (a proration invoice). An upgrade between monthly plans
 * grants the difference in period credits for the rest of the period, prorated, once, keyed by the
 * invoice; a downgrade (no more credits than the period already had) grants nothing and takes nothing
 * back: the next period is granted for the new plan. A change to the yearly plan starts its term.
 */
export async function recordPlanChangePayment(
  tx: Database,
  event: BillingEventOf<'plan_change_paid'>,
  ctx: BillingContext,
): Promise<Omit<BillingOutcome, 'type'>> {
  const { plan, ignored } = await subscriptionPlanPaid(tx, event, ctx.config);
  if (!plan) return { result: 'ignored', detail: ignored };
  if (plan.billing === 'yearly') {
    // Moving to the yearly plan is paying for a term that starts at the change.
    return recordSubscriptionPayment(tx, { ...event, type: 'subscription_period_paid', periodStart: event.changedAt }, ctx);
  }
  const subscription = await lockSubscription(tx, event.subscriptionId);
  // The subscription's own paid invoice creates it; until then the change cannot be measured: the
  // webhook answers 500 and the provider delivers it again later.
  if (!subscription) throw new Error(`plan change ${event.paymentId} for subscription ${event.subscriptionId}, which is not known yet`);
  if (subscription.userId !== event.userId) throw new Error(`subscription ${event.subscriptionId} belongs to another user`);

  const n = periodIndexAt(subscription.anchorAt, event.changedAt);
  const periodStart = addUtcMonths(subscription.anchorAt, Math.max(n, 0));
  const periodEnd = addUtcMonths(subscription.anchorAt, Math.max(n, 0) + 1);
  const values = paymentValues(ctx, event, plan.id);
  const id = values.id;
  const key = creditKeys.purchase(id);
  const recorded = await recordPayment(
    tx,
    {
      ...values,
      kind: 'proration',
      subscriptionId: subscription.id,
      grantKey: key,
      periodStart,
      periodEnd,
    },
    ctx,
  );
  if (!recorded.created) return { result: 'replayed' };
  // The change is the newest thing known of the plan: a renewal of this period collected late does not undo it.
  await tx
    .update(subscriptions)
    .set({
      planId: plan.id,
      providerUpdatedAt: sql`greatest(${subscriptions.providerUpdatedAt}, ${event.changedAt.toISOString()}::timestamptz)`,
      updatedAt: ctx.now,
    })
    .where(eq(subscriptions.id, subscription.id));

  const had = await periodCredits(tx, subscription.id, periodStart, id, ctx);
  const difference = plan.creditsPerPeriod - had;
  const left = Math.max(0, periodEnd.getTime() - Math.max(event.changedAt.getTime(), periodStart.getTime()));
  const credits = Math.floor((difference * left) / (periodEnd.getTime() - periodStart.getTime()));
  if (credits <= 0) return { result: 'applied', detail: 'no more credits than the period had: nothing granted' };
  const expiresAt = addUtcDays(periodEnd, plan.graceDays);
  if (expiresAt <= ctx.now) return { result: 'applied', detail: 'period already over: nothing granted' };
  const grant = await grantCredits(tx, {
    userId: event.userId,
    amount: credits,
    source: 'subscription',
    category: plan.category,
    expiresAt,
    idempotencyKey: key,
    subscriptionId: subscription.id,
    purchaseId: id,
    metadata: { upgradeTo: plan.id },
    now: ctx.now,
  });
  if (!grant.ok) throw new Error(`upgrade ${key} could not be granted: ${grant.message}`);
  await addCreditsToPayment(tx, id, grant.batch.amount);
  return { result: 'applied', detail: `${credits} credits for the rest of the period` };
}

/**
 * What the period had before this change: its period grant (or, when its invoice has not been paid
 * yet, the credits it will grant: those of the plan the last paid period was on) and the upgrades
 * already paid in it. Counting the unpaid period's plan keeps a late renewal and an upgrade from
 * granting the new plan in full on top of the old one.
 */
async function periodCredits(
  tx: Database,
  subscriptionId: string,
  periodStart: Date,
  paymentId: string,
  ctx: BillingContext,
): Promise<number> {
  const [periodGrant] = await tx
    .select({ amount: creditBatches.amount })
    .from(creditBatches)
    .where(eq(creditBatches.idempotencyKey, creditKeys.subscriptionPeriod(subscriptionId, periodStart)));
  let base = periodGrant?.amount;
  if (base === undefined) {
    const [lastPaid] = await tx
      .select({ productId: payments.productId })
      .from(payments)
      .where(and(eq(payments.subscriptionId, subscriptionId), eq(payments.kind, 'period'), lt(payments.periodStart, periodStart)))
      .orderBy(desc(payments.periodStart))
      .limit(1);
    const lastPlan = lastPaid ? findPlan(ctx.config, lastPaid.productId) : undefined;
    base = lastPlan?.billing === 'monthly' ? lastPlan.creditsPerPeriod : 0;
  }
  const [upgrades] = await tx
    .select({ credits: sql<number>`coalesce(sum(${creditBatches.amount}), 0)::bigint` })
    .from(creditBatches)
    .where(
      sql`${creditBatches.idempotencyKey} in (
            select ${payments.grantKey} from ${payments}
             where ${and(eq(payments.subscriptionId, subscriptionId), eq(payments.kind, 'proration'), eq(payments.periodStart, periodStart))}
               and ${payments.id} <> ${paymentId})`,
    );
  return base + Number(upgrades!.credits);
}
