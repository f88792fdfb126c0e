import 'server-only';
import { creditsConfig } from '@/config/credits';
import { providerProductId } from '@/env';
import { billingEventSchema, type BillingEvent } from './events';
import {
  creemCheckout,
  creemDispute,
  creemRefund,
  creemSubscription,
  type CreemCheckout,
  type CreemDispute,
  type CreemRefund,
  type CreemSubscription,
} from './creem-payloads';

// Creem's events, made normalized billing events (docs/payments.md). Ids, as everyone keys them:
// a one-time payment is its order (`creem:ord_…`, the transaction as its charge id); a subscription
// period is its transaction (`creem:tran_…`), because a subscription's checkout may have no order
// and a renewal need not have one of its own, while every payment has its own transaction.

/** A paid Creem object whose buyer or product cannot be told: thrown, so the delivery fails (500) and shows in Creem's dashboard. */
export class UnattributedCreemPaymentError extends Error {}

const idOf = (value: string | { id: string } | null | undefined): string | null =>
  typeof value === 'string' ? value : (value?.id ?? null);

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

/**
 * Our plan or pack id: the product whose CREEM_PRODUCT_<ID> is Creem's product id, else the checkout's
 * `metadata.productId`. Creem's product comes first because Creem copies the checkout's metadata onto
 * the subscription once: after a plan change in Creem the metadata still names the first plan.
 */
function ourProductId(metadata: Record<string, unknown> | null | undefined, creemProductId: string | null): string | undefined {
  const mapped = creemProductId
    ? [...creditsConfig.plans, ...creditsConfig.packs].find((product) => providerProductId('creem', product.id) === creemProductId)
    : undefined;
  return mapped?.id ?? text(metadata?.productId);
}

const normalized = (event: unknown): BillingEvent => billingEventSchema.parse(event);

/**
 * A completed checkout: a one-time payment (a pack, the lifetime plan) when its order is paid. A
 * subscription's checkout gives nothing: Creem sends `subscription.paid` for the first period as for
 * every renewal, and that event, keyed by its transaction, pays for it.
 */
export function checkoutEvents(checkout: CreemCheckout, receivedAt: Date): BillingEvent[] {
  const order = checkout.order;
  if (checkout.status !== 'completed' || !order || order.status !== 'paid') return [];
  const product = typeof checkout.product === 'string' ? null : checkout.product;
  const recurring = order.type ? order.type === 'recurring' : Boolean(checkout.subscription) || product?.billing_type === 'recurring';
  if (recurring) return [];
  const productId = ourProductId(checkout.metadata, order.product ?? idOf(checkout.product));
  // A product this app does not sell (another app on the same Creem store): not ours to fulfil.
  if (!productId) return [];
  const userId = text(checkout.metadata?.userId);
  if (!userId) throw new UnattributedCreemPaymentError(`Creem order ${order.id} (checkout ${checkout.id}) has no metadata.userId`);
  return [
    normalized({
      type: 'one_time_payment_succeeded',
      userId,
      productId,
      customerId: order.customer ?? idOf(checkout.customer),
      paymentId: order.id,
      chargeId: order.transaction ?? null,
      amount: order.amount_paid ?? order.amount,
      currency: order.currency,
      paidAt: order.updated_at ?? order.created_at ?? receivedAt,
    }),
  ];
}

/** `subscription.paid`: the period its last transaction paid for (a yearly plan's: the term). */
function subscriptionPaidEvents(subscription: CreemSubscription, receivedAt: Date): BillingEvent[] {
  const product = typeof subscription.product === 'string' ? null : subscription.product;
  const productId = ourProductId(subscription.metadata, idOf(subscription.product));
  if (!productId) return [];
  const userId = text(subscription.metadata?.userId);
  const transaction = subscription.last_transaction;
  const transactionId = transaction?.id ?? subscription.last_transaction_id;
  const periodStart = transaction?.period_start ?? subscription.current_period_start_date;
  const periodEnd = transaction?.period_end ?? subscription.current_period_end_date;
  const amount = transaction ? (transaction.amount_paid ?? transaction.amount) : product?.price;
  const currency = transaction?.currency ?? product?.currency;
  if (!userId || !transactionId || !periodStart || !periodEnd || amount === undefined || !currency) {
    throw new UnattributedCreemPaymentError(
      `Creem subscription ${subscription.id} was paid, but the event lacks ${!userId ? 'metadata.userId' : 'its transaction, period or amount'}`,
    );
  }
  return [
    normalized({
      type: 'subscription_period_paid',
      userId,
      productId,
      customerId: idOf(subscription.customer),
      subscriptionId: subscription.id,
      paymentId: transactionId,
      chargeId: transactionId,
      // Without the embedded transaction, the product's list price (before any tax Creem added).
      amount,
      currency,
      periodStart,
      periodEnd,
      paidAt: subscription.last_transaction_date ?? transaction?.created_at ?? receivedAt,
    }),
  ];
}

type CreemState = { status: 'active' | 'past_due' | 'canceled'; cancelAtPeriodEnd: boolean };

/**
 * Creem's subscription status in our terms; null for a state that says nothing about money (trialing,
 * paused). `scheduled_cancel` is an active subscription that stops at its period end; `unpaid`
 * behaves like `past_due`.
 */
function stateOf(status: string): CreemState | null {
  switch (status) {
    case 'active':
      return { status: 'active', cancelAtPeriodEnd: false };
    case 'scheduled_cancel':
      return { status: 'active', cancelAtPeriodEnd: true };
    case 'past_due':
    case 'unpaid':
      return { status: 'past_due', cancelAtPeriodEnd: false };
    case 'canceled':
      return { status: 'canceled', cancelAtPeriodEnd: false };
    default:
      return null;
  }
}

/**
 * What a subscription object says about the subscription now. `canceled` is Creem's terminal state
 * (a cancel at period end is `scheduled_cancel` until the period ends, then `canceled`), so it ends
 * the subscription: no further periods. An unknown subscription is only created by a paid period.
 */
export function subscriptionStateEvents(subscription: CreemSubscription, asOf: Date, override?: CreemState): BillingEvent[] {
  const state = override ?? stateOf(subscription.status);
  if (!state) return [];
  if (state.status === 'canceled') {
    return [normalized({ type: 'subscription_ended', subscriptionId: subscription.id, endedAt: subscription.canceled_at ?? asOf, asOf })];
  }
  const productId = ourProductId(subscription.metadata, idOf(subscription.product));
  if (!productId) return [];
  return [
    normalized({
      type: 'subscription_state_changed',
      subscriptionId: subscription.id,
      userId: text(subscription.metadata?.userId) ?? null,
      productId,
      customerId: idOf(subscription.customer),
      ...state,
      currentPeriodStart: subscription.current_period_start_date ?? null,
      currentPeriodEnd: subscription.current_period_end_date ?? null,
      asOf,
    }),
  ];
}

function reversalRefs(reversal: CreemRefund | CreemDispute): string[] {
  const refs = [reversal.transaction.id, reversal.transaction.order, idOf(reversal.order)];
  return [...new Set(refs.filter((ref): ref is string => Boolean(ref)))];
}

/** `refund.created`: money given back (a failed or canceled refund gave nothing back). */
function refundEvents(refund: CreemRefund): BillingEvent[] {
  if (refund.status === 'failed' || refund.status === 'canceled') return [];
  return [
    normalized({
      type: 'payment_reversed',
      kind: 'refund',
      reversalId: refund.id,
      paymentRefs: reversalRefs(refund),
      amount: refund.refund_amount,
      paymentAmount: refund.transaction.amount_paid ?? null,
      currency: refund.refund_currency,
      at: refund.created_at,
    }),
  ];
}

/** `dispute.created`: the card holder disputes the payment. */
function disputeEvents(dispute: CreemDispute): BillingEvent[] {
  return [
    normalized({
      type: 'payment_reversed',
      kind: 'dispute',
      reversalId: dispute.id,
      paymentRefs: reversalRefs(dispute),
      amount: dispute.amount,
      paymentAmount: dispute.transaction.amount_paid ?? null,
      currency: dispute.currency,
      at: dispute.created_at,
    }),
  ];
}

/** One event of Creem's, by type, its object checked against the shape Creem documents; a type the app does not act on gives nothing (it is still recorded). */
export function creemEventToBillingEvents(eventType: string, object: unknown, createdAt: Date): BillingEvent[] {
  switch (eventType) {
    case 'checkout.completed':
      return checkoutEvents(creemCheckout.parse(object), createdAt);
    case 'subscription.paid':
      return subscriptionPaidEvents(creemSubscription.parse(object), createdAt);
    case 'subscription.active':
    case 'subscription.update':
    case 'subscription.scheduled_cancel':
    case 'subscription.past_due':
    case 'subscription.unpaid':
    case 'subscription.canceled':
      return subscriptionStateEvents(creemSubscription.parse(object), createdAt);
    case 'subscription.expired':
      // The period ended unpaid, and Creem may still retry the charge: past due, not over. Creem sends
      // `subscription.canceled` when it gives up (its docs: "terminal only when status is canceled").
      return subscriptionStateEvents(creemSubscription.parse(object), createdAt, { status: 'past_due', cancelAtPeriodEnd: false });
    case 'refund.created':
      return refundEvents(creemRefund.parse(object));
    case 'dispute.created':
      return disputeEvents(creemDispute.parse(object));
    default:
      return [];
  }
}
