import 'server-only';
import { z } from 'zod';
import type { PaymentProviderId } from '@/lib/server/db/schema';

// The normalized billing events of docs/payments.md: what an adapter makes of a provider's webhook (or
// of the provider's answer on the success page), and all the usecases ever see of a payment. Every
// id is the provider's own; amounts are minor units (cents) of `currency`.

const id = z.string().min(1).max(255);
const minorUnits = z.number().int().min(0);
const currency = z
  .string()
  .regex(/^[a-zA-Z]{3}$/)
  .transform((c) => c.toLowerCase());

/** Who paid for what: from the checkout's metadata (`userId`, `productId`, a plan or pack id of src/config). */
const buyer = {
  userId: id,
  productId: id,
  /** The provider's customer (for the billing portal), when the event names one. */
  customerId: id.nullish(),
};

/** A one-time payment (a pack, the lifetime plan) whose money was received. */
export const oneTimePaymentSucceeded = z.object({
  type: z.literal('one_time_payment_succeeded'),
  ...buyer,
  /** The paid object: Stripe's checkout session, Creem's order. */
  paymentId: id,
  /** What a refund or dispute will name instead (Stripe's payment intent, Creem's transaction), when known. */
  chargeId: id.nullish(),
  amount: minorUnits,
  currency,
  paidAt: z.date(),
});

/** An invoice of a subscription was paid: a new subscription's first period, or a renewal. */
export const subscriptionPeriodPaid = z.object({
  type: z.literal('subscription_period_paid'),
  ...buyer,
  subscriptionId: id,
  /** The paid object: Stripe's invoice, Creem's order or transaction. */
  paymentId: id,
  chargeId: id.nullish(),
  amount: minorUnits,
  currency,
  /** The period this invoice pays for (a yearly plan: the term). */
  periodStart: z.date(),
  periodEnd: z.date(),
  paidAt: z.date(),
});

/**
 * A paid invoice for a plan change in the middle of a period (Stripe's `subscription_update` invoice):
 * an upgrade grants the difference in period credits for the rest of the period, prorated.
 */
export const planChangePaid = z.object({
  type: z.literal('plan_change_paid'),
  ...buyer,
  subscriptionId: id,
  paymentId: id,
  chargeId: id.nullish(),
  amount: minorUnits,
  currency,
  /** When the change took effect, and the end of the period it was prorated to. */
  changedAt: z.date(),
  periodEnd: z.date(),
  paidAt: z.date(),
});

/** The provider's view of a subscription now: plan, status, current period, cancel at period end. */
export const subscriptionStateChanged = z.object({
  type: z.literal('subscription_state_changed'),
  subscriptionId: id,
  /** From the subscription's metadata; a subscription the app has not seen is only created by a paid invoice. */
  userId: id.nullish(),
  productId: id,
  customerId: id.nullish(),
  status: z.enum(['active', 'past_due', 'canceled']),
  cancelAtPeriodEnd: z.boolean(),
  currentPeriodStart: z.date().nullish(),
  currentPeriodEnd: z.date().nullish(),
  /** When the provider produced this state (the event's creation time): older than what is stored means stale. */
  asOf: z.date(),
});

/** The subscription is over (Stripe's `customer.subscription.deleted`, Creem's `subscription.expired`). */
export const subscriptionEnded = z.object({
  type: z.literal('subscription_ended'),
  subscriptionId: id,
  endedAt: z.date(),
  asOf: z.date(),
});

/** An invoice could not be collected: the subscription is past due until one is paid. */
export const paymentFailed = z.object({
  type: z.literal('payment_failed'),
  subscriptionId: id,
  paymentId: id,
  asOf: z.date(),
});

/** Money given back: a refund, or a dispute opened by the card holder. */
export const paymentReversed = z.object({
  type: z.literal('payment_reversed'),
  kind: z.enum(['refund', 'dispute']),
  /** The refund's or dispute's own id: the key of what it takes back. */
  reversalId: id,
  /** Any ids of the paid object the provider gives (payment intent, charge, invoice, order, transaction). */
  paymentRefs: z.array(id).min(1),
  /** This refund's or dispute's amount. */
  amount: minorUnits,
  /**
   * What the reversed payment actually collected, when the provider says so here (Creem's transaction
   * `amount_paid`: tax included, discount applied). Refunds are in that money, so the refunded share is
   * measured against it; without it, against the amount recorded when the payment was applied.
   */
  paymentAmount: minorUnits.nullish(),
  currency,
  at: z.date(),
});

export const billingEventSchema = z.discriminatedUnion('type', [
  oneTimePaymentSucceeded,
  subscriptionPeriodPaid,
  planChangePaid,
  subscriptionStateChanged,
  subscriptionEnded,
  paymentFailed,
  paymentReversed,
]);

export type BillingEvent = z.infer<typeof billingEventSchema>;
export type BillingEventOf<T extends BillingEvent['type']> = Extract<BillingEvent, { type: T }>;

/** One webhook delivery, verified and normalized: the provider's event id and type, and what it means (often nothing). */
export type VerifiedWebhook = {
  provider: PaymentProviderId;
  eventId: string;
  eventType: string;
  events: BillingEvent[];
};
