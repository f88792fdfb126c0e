import { randomUUID } from 'node:crypto';
import type { BillingEvent, BillingEventOf, VerifiedWebhook } from '@/lib/server/payments/events';
import { addUtcMonths } from '@/lib/server/credits/time';

// Normalized billing events as an adapter produces them, with defaults a scenario overrides.

export function webhook(events: BillingEvent[], overrides: Partial<VerifiedWebhook> = {}): VerifiedWebhook {
  return { provider: 'stripe', eventId: `evt_${randomUUID()}`, eventType: 'test.event', events, ...overrides };
}

export function packPaid(p: Partial<BillingEventOf<'one_time_payment_succeeded'>> & { userId: string; paidAt: Date }) {
  return {
    type: 'one_time_payment_succeeded',
    productId: 'pack-500',
    paymentId: `cs_${randomUUID()}`,
    chargeId: null,
    customerId: null,
    amount: 500,
    currency: 'usd',
    ...p,
  } satisfies BillingEventOf<'one_time_payment_succeeded'>;
}

/** An invoice paid for the period starting at `periodStart` (a month, or a year for the yearly plan). */
export function periodPaid(
  p: Partial<BillingEventOf<'subscription_period_paid'>> & { userId: string; subscriptionId: string; periodStart: Date },
) {
  const yearly = p.productId === 'pro-yearly';
  return {
    type: 'subscription_period_paid',
    productId: 'pro-monthly',
    paymentId: `in_${randomUUID()}`,
    chargeId: null,
    customerId: null,
    amount: yearly ? 19_000 : 1_900,
    currency: 'usd',
    periodEnd: addUtcMonths(p.periodStart, yearly ? 12 : 1),
    paidAt: p.periodStart,
    ...p,
  } satisfies BillingEventOf<'subscription_period_paid'>;
}

export function stateChanged(
  p: Partial<BillingEventOf<'subscription_state_changed'>> & { subscriptionId: string; asOf: Date },
): BillingEventOf<'subscription_state_changed'> {
  return { type: 'subscription_state_changed', productId: 'pro-monthly', status: 'active', cancelAtPeriodEnd: false, ...p };
}

export function ended(subscriptionId: string, endedAt: Date, asOf = endedAt): BillingEventOf<'subscription_ended'> {
  return { type: 'subscription_ended', subscriptionId, endedAt, asOf };
}

export function paymentFailed(subscriptionId: string, asOf: Date): BillingEventOf<'payment_failed'> {
  return { type: 'payment_failed', subscriptionId, paymentId: `in_${randomUUID()}`, asOf };
}
