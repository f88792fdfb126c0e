import 'server-only';
import type Stripe from 'stripe';
import { creditsConfig } from '@/config/credits';
import { providerProductId } from '@/env';
import { billingEventSchema, type BillingEvent, type BillingEventOf } from './events';

// Stripe's objects → the normalized billing events of docs/payments.md. Shapes are those of API
// versions 2025-03-31.basil and later: an invoice names its subscription in
// `parent.subscription_details`, a subscription's period lives on its items, an invoice's payment
// intents in `invoice.payments`. Stripe's times are Unix seconds.

/** What a refund or dispute needs from the API beyond its payload (both optional answers). */
export type StripeLookups = {
  /** The invoice a payment intent paid, when it paid one (a subscription's), else null. */
  invoiceOfPaymentIntent(paymentIntentId: string): Promise<string | null>;
  /** Every refund of a charge (a `charge.refunded` payload does not list them since 2022-11-15). */
  refundsOfCharge(chargeId: string): Promise<Stripe.Refund[]>;
};

const fromSeconds = (seconds: number) => new Date(seconds * 1000);

/** The id of a field Stripe gives either as an id or as the expanded object. */
function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === 'string' ? value : value.id;
}

/** The product of src/config whose Stripe price (STRIPE_PRICE_<ID>) is this price id. */
export function productOfStripePrice(priceId: string | null | undefined): string | undefined {
  if (!priceId) return undefined;
  return [...creditsConfig.plans, ...creditsConfig.packs].find((product) => providerProductId('stripe', product.id) === priceId)?.id;
}

function validated(events: BillingEvent[]): BillingEvent[] {
  return events.map((event) => billingEventSchema.parse(event));
}

function ignored(reason: string, objectId: string): BillingEvent[] {
  // Money may have moved without the app knowing whom it is for: say so where an operator looks.
  console.warn(`[stripe] ${objectId}: ${reason}; no billing event`);
  return [];
}

/** A paid one-time checkout (a pack, the lifetime plan); nothing for subscription checkouts, whose invoice grants. */
export function oneTimePaymentOfSession(session: Stripe.Checkout.Session, paidAt: Date): BillingEvent[] {
  if (session.mode !== 'payment' || session.payment_status !== 'paid') return [];
  const userId = session.metadata?.userId ?? session.client_reference_id;
  const productId = session.metadata?.productId;
  if (!userId || !productId) return ignored('paid checkout without metadata.userId/productId', session.id);
  return validated([
    {
      type: 'one_time_payment_succeeded',
      userId,
      productId,
      customerId: idOf(session.customer),
      paymentId: session.id,
      chargeId: idOf(session.payment_intent),
      amount: session.amount_total ?? 0,
      currency: session.currency ?? '',
      paidAt,
    },
  ]);
}

function subscriptionItemLines(invoice: Stripe.Invoice) {
  return (invoice.lines?.data ?? []).filter((line) => line.parent?.subscription_item_details);
}

function priceOfLine(line: Stripe.InvoiceLineItem): string | null {
  return idOf(line.pricing?.price_details?.price);
}

/** The invoice's payment intent, when the payload carries `payments` (expanded, or a recent API version's default). */
function paymentIntentOfInvoice(invoice: Stripe.Invoice): string | null {
  const payments = invoice.payments?.data ?? [];
  const paid = payments.find((payment) => payment.status === 'paid') ?? payments[0];
  return idOf(paid?.payment.payment_intent);
}

/**
 * A paid subscription invoice: a first or renewed period (`subscription_create`, `subscription_cycle`)
 * or a mid-period plan change (`subscription_update`). The webhook and the success page share it, so
 * both produce the same event and so the same keys. `fallbackMetadata`: the checkout session's, for a
 * subscription whose own metadata is missing.
 */
export function paymentOfInvoice(
  invoice: Stripe.Invoice,
  options: { paidAtFallback: Date; fallbackMetadata?: Stripe.Metadata | null },
): BillingEvent[] {
  const details = invoice.parent?.subscription_details;
  const subscriptionId = idOf(details?.subscription);
  if (!details || !subscriptionId || invoice.status !== 'paid') return [];
  const metadata = { ...options.fallbackMetadata, ...details.metadata };
  const userId = metadata.userId;
  if (!userId) return ignored('paid subscription invoice without metadata.userId', invoice.id);
  const paidAt = invoice.status_transitions?.paid_at ? fromSeconds(invoice.status_transitions.paid_at) : options.paidAtFallback;
  const common = {
    userId,
    customerId: idOf(invoice.customer),
    subscriptionId,
    paymentId: invoice.id,
    chargeId: paymentIntentOfInvoice(invoice),
    amount: invoice.amount_paid,
    currency: invoice.currency,
    paidAt,
  };
  const lines = subscriptionItemLines(invoice);

  // A new period charged in full: a subscription's first invoice, a renewal, or a plan change that
  // reset the billing cycle (a switch between monthly and yearly charges the new price for a new period
  // on an ordinary line, beside a negative proration line crediting the unused old plan).
  const newPeriod = lines.find((candidate) => !candidate.parent?.subscription_item_details?.proration && candidate.amount > 0);
  const cycle = invoice.billing_reason === 'subscription_create' || invoice.billing_reason === 'subscription_cycle';
  if (cycle || (invoice.billing_reason === 'subscription_update' && newPeriod)) {
    const line = newPeriod ?? lines.find((candidate) => !candidate.parent?.subscription_item_details?.proration);
    // Without its line the period is unknown (the invoice's own period_start/end is the previous
    // period for a renewal): fail loudly so Stripe retries and an operator sees it.
    if (!line) throw new Error(`Stripe invoice ${invoice.id} has no subscription line item: cannot tell the period it pays`);
    const productId = productOfStripePrice(priceOfLine(line)) ?? metadata.productId;
    if (!productId) return ignored('paid subscription invoice whose price and metadata name no product', invoice.id);
    const event: BillingEventOf<'subscription_period_paid'> = {
      type: 'subscription_period_paid',
      ...common,
      productId,
      periodStart: fromSeconds(line.period.start),
      periodEnd: fromSeconds(line.period.end),
    };
    return validated([event]);
  }

  if (invoice.billing_reason === 'subscription_update') {
    // An upgrade within the cycle credits the unused old plan (a negative line) and charges the new plan
    // for the rest of the period (the positive proration line): that line names the new plan and the period.
    const line = lines.find((candidate) => candidate.parent?.subscription_item_details?.proration && candidate.amount > 0);
    if (!line) return [];
    const productId = productOfStripePrice(priceOfLine(line)) ?? metadata.productId;
    if (!productId) return ignored('paid plan-change invoice whose price and metadata name no product', invoice.id);
    const event: BillingEventOf<'plan_change_paid'> = {
      type: 'plan_change_paid',
      ...common,
      productId,
      changedAt: fromSeconds(line.period.start),
      periodEnd: fromSeconds(line.period.end),
    };
    return validated([event]);
  }
  return [];
}

const subscriptionStatuses: Partial<Record<Stripe.Subscription.Status, 'active' | 'past_due' | 'canceled'>> = {
  active: 'active',
  trialing: 'active',
  past_due: 'past_due',
  unpaid: 'past_due',
  // A paused subscription collects nothing: like past_due, no new period is granted until an invoice is paid.
  paused: 'past_due',
  canceled: 'canceled',
  incomplete_expired: 'canceled',
};

/** The provider's view of a subscription; nothing while it is `incomplete` (its first invoice is not paid yet). */
export function subscriptionStateOf(subscription: Stripe.Subscription, asOf: Date): BillingEvent[] {
  const status = subscriptionStatuses[subscription.status];
  if (!status) return [];
  const item = subscription.items?.data?.[0];
  const productId = productOfStripePrice(item?.price?.id) ?? subscription.metadata?.productId;
  if (!productId) return ignored('subscription whose price and metadata name no product', subscription.id);
  return validated([
    {
      type: 'subscription_state_changed',
      subscriptionId: subscription.id,
      userId: subscription.metadata?.userId ?? null,
      productId,
      customerId: idOf(subscription.customer),
      status,
      cancelAtPeriodEnd: subscription.cancel_at_period_end || subscription.cancel_at !== null,
      currentPeriodStart: item ? fromSeconds(item.current_period_start) : null,
      currentPeriodEnd: item ? fromSeconds(item.current_period_end) : null,
      asOf,
    },
  ]);
}

async function paymentRefs(paymentIntent: string | null, charge: string | null, lookups: StripeLookups): Promise<string[]> {
  const invoice = paymentIntent ? await lookups.invoiceOfPaymentIntent(paymentIntent) : null;
  return [paymentIntent, charge, invoice].filter((ref): ref is string => Boolean(ref));
}

async function reversalOfRefund(refund: Stripe.Refund, lookups: StripeLookups): Promise<BillingEvent[]> {
  // A refund that failed or was canceled gave nothing back.
  if (refund.status === 'failed' || refund.status === 'canceled') return [];
  const refs = await paymentRefs(idOf(refund.payment_intent), idOf(refund.charge), lookups);
  if (refs.length === 0) return ignored('refund that names no payment', refund.id);
  return validated([
    {
      type: 'payment_reversed',
      kind: 'refund',
      reversalId: refund.id,
      paymentRefs: refs,
      amount: refund.amount,
      currency: refund.currency,
      at: fromSeconds(refund.created),
    },
  ]);
}

async function reversalsOfCharge(charge: Stripe.Charge, lookups: StripeLookups): Promise<BillingEvent[]> {
  const listed = charge.refunds && !charge.refunds.has_more ? charge.refunds.data : await lookups.refundsOfCharge(charge.id);
  const events: BillingEvent[] = [];
  for (const refund of listed) events.push(...(await reversalOfRefund(refund, lookups)));
  return events;
}

async function reversalOfDispute(dispute: Stripe.Dispute, lookups: StripeLookups): Promise<BillingEvent[]> {
  const refs = await paymentRefs(idOf(dispute.payment_intent), idOf(dispute.charge), lookups);
  return validated([
    {
      type: 'payment_reversed',
      kind: 'dispute',
      reversalId: dispute.id,
      paymentRefs: refs,
      amount: dispute.amount,
      currency: dispute.currency,
      at: fromSeconds(dispute.created),
    },
  ]);
}

/** A verified Stripe event as normalized billing events; an event type the app does not act on gives none. */
export async function billingEventsOfStripeEvent(event: Stripe.Event, lookups: StripeLookups): Promise<BillingEvent[]> {
  const created = fromSeconds(event.created);
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
      return oneTimePaymentOfSession(event.data.object, created);
    case 'invoice.paid':
      return paymentOfInvoice(event.data.object, { paidAtFallback: created });
    case 'invoice.payment_failed': {
      const invoice = event.data.object;
      const subscriptionId = idOf(invoice.parent?.subscription_details?.subscription);
      if (!subscriptionId) return [];
      return validated([{ type: 'payment_failed', subscriptionId, paymentId: invoice.id, asOf: created }]);
    }
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
      return subscriptionStateOf(event.data.object, created);
    case 'customer.subscription.deleted': {
      const subscription = event.data.object;
      const endedAt = subscription.ended_at ? fromSeconds(subscription.ended_at) : created;
      return validated([{ type: 'subscription_ended', subscriptionId: subscription.id, endedAt, asOf: created }]);
    }
    case 'refund.created':
      return reversalOfRefund(event.data.object, lookups);
    case 'charge.refunded':
      return reversalsOfCharge(event.data.object, lookups);
    case 'charge.dispute.created':
      return reversalOfDispute(event.data.object, lookups);
    default:
      return [];
  }
}
