import 'server-only';
import { and, eq, gte } from 'drizzle-orm';
import { findPlan } from '@/config/credits';
import { billingSubscriptionEnds, payments, subscriptions, type Subscription } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import type { BillingEventOf } from '@/lib/server/payments/events';
import { lockSubscription, rememberCustomer } from '@/lib/server/payments/records';
import type { BillingContext, BillingOutcome } from './apply-billing-webhook';
import { cancelSubscription } from './cancel-subscription';

type StateEvent = BillingEventOf<'subscription_state_changed' | 'subscription_ended' | 'payment_failed'>;

/**
 * What the provider says of a subscription: its status, plan, period and cancel-at-period-end; that it
 * ended; that an invoice failed. Events come out of order: one older than the state stored is stale and
 * changes nothing, and an ended subscription never comes back. Only a paid invoice creates a
 * subscription, so an event about one the app has not seen changes nothing either.
 */
export async function updateSubscriptionState(tx: Database, event: StateEvent, ctx: BillingContext): Promise<Omit<BillingOutcome, 'type'>> {
  const subscription = await lockSubscription(tx, event.subscriptionId);
  if (!subscription) return rememberEndOfUnknown(tx, event, ctx);
  if (subscription.provider !== ctx.provider)
    return { result: 'ignored', detail: `subscription billed by ${subscription.provider ?? 'an operator'}` };
  if (subscription.providerUpdatedAt && event.asOf < subscription.providerUpdatedAt) {
    return { result: 'ignored', detail: `stale: older than the state of ${subscription.providerUpdatedAt.toISOString()}` };
  }
  if (subscription.status === 'canceled') {
    return { result: event.type === 'subscription_ended' ? 'replayed' : 'ignored', detail: 'the subscription has ended' };
  }
  switch (event.type) {
    case 'subscription_ended':
      return endSubscription(tx, subscription, event.endedAt, event.asOf, ctx);
    case 'payment_failed': {
      // A failure delivered after a payment that settled it (a retry that succeeded) changes nothing.
      const [settled] = await tx
        .select({ id: payments.id })
        .from(payments)
        .where(and(eq(payments.subscriptionId, subscription.id), gte(payments.paidAt, event.asOf)))
        .limit(1);
      if (settled) return { result: 'ignored', detail: `settled by payment ${settled.id}` };
      await tx
        .update(subscriptions)
        .set({ status: 'past_due', providerUpdatedAt: event.asOf, updatedAt: ctx.now })
        .where(eq(subscriptions.id, subscription.id));
      return { result: 'applied', detail: 'past due: no new period until an invoice is paid' };
    }
    case 'subscription_state_changed': {
      if (event.status === 'canceled') return endSubscription(tx, subscription, event.asOf, event.asOf, ctx);
      if (event.userId && event.userId !== subscription.userId) throw new Error(`subscription ${subscription.id} belongs to another user`);
      await rememberCustomer(tx, ctx.provider, event.customerId, subscription.userId);
      // A downgrade shows here first: the next period is granted for the new plan (the current one keeps what it had).
      const plan = findPlan(ctx.config, event.productId);
      const samePlanKind = plan && plan.billing === subscription.billing;
      await tx
        .update(subscriptions)
        .set({
          status: event.status,
          cancelAtPeriodEnd: event.cancelAtPeriodEnd,
          currentPeriodEnd: event.currentPeriodEnd ?? subscription.currentPeriodEnd,
          ...(samePlanKind ? { planId: plan.id } : {}),
          customerId: event.customerId ?? subscription.customerId,
          providerUpdatedAt: event.asOf,
          updatedAt: ctx.now,
        })
        .where(eq(subscriptions.id, subscription.id));
      return { result: 'applied', detail: `${event.status}${event.cancelAtPeriodEnd ? ', cancels at period end' : ''}` };
    }
  }
}

/**
 * The subscription is over: no period or term begins after it. A yearly term already paid for keeps
 * paying out its installments until the term ends, so the cancel takes effect then; a monthly plan's
 * periods already granted keep their credits until they expire.
 */
export async function endSubscription(
  tx: Database,
  subscription: Subscription,
  endedAt: Date,
  asOf: Date,
  ctx: BillingContext,
): Promise<Omit<BillingOutcome, 'type'>> {
  const effective =
    subscription.billing === 'yearly' && subscription.endsAt && subscription.endsAt > endedAt ? subscription.endsAt : endedAt;
  const canceled = await cancelSubscription(tx, { subscriptionId: subscription.id, now: effective });
  if (!canceled.ok) throw new Error(canceled.message);
  await tx
    .update(subscriptions)
    .set({ cancelAtPeriodEnd: false, providerUpdatedAt: asOf, updatedAt: ctx.now })
    .where(eq(subscriptions.id, subscription.id));
  return { result: 'applied', detail: `ended; nothing due from ${effective.toISOString()} is granted` };
}

/**
 * An event about a subscription the app has not seen: only its paid invoice creates it. An end is
 * remembered (a deletion can arrive before the first invoice.paid is applied, and is not sent again):
 * the invoice that creates the subscription then ends it. Anything else is superseded by later events.
 */
async function rememberEndOfUnknown(tx: Database, event: StateEvent, ctx: BillingContext): Promise<Omit<BillingOutcome, 'type'>> {
  const endedAt =
    event.type === 'subscription_ended'
      ? event.endedAt
      : event.type === 'subscription_state_changed' && event.status === 'canceled'
        ? event.asOf
        : null;
  if (!endedAt) return { result: 'ignored', detail: 'unknown subscription (its first paid invoice creates it)' };
  await tx
    .insert(billingSubscriptionEnds)
    .values({ provider: ctx.provider, subscriptionId: event.subscriptionId, endedAt, asOf: event.asOf })
    .onConflictDoNothing();
  return { result: 'applied', detail: 'unknown subscription: its end is kept for the paid invoice that creates it' };
}

/** Ends a subscription just created by its paid invoice if its end arrived first (see rememberEndOfUnknown). */
export async function applyRememberedEnd(tx: Database, subscription: Subscription, ctx: BillingContext): Promise<void> {
  const [remembered] = await tx
    .select()
    .from(billingSubscriptionEnds)
    .where(and(eq(billingSubscriptionEnds.provider, ctx.provider), eq(billingSubscriptionEnds.subscriptionId, subscription.id)));
  if (remembered && subscription.status !== 'canceled') await endSubscription(tx, subscription, remembered.endedAt, remembered.asOf, ctx);
}
