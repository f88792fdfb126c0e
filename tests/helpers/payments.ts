import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { creditsConfig, findPack, findPlan } from '@/config/credits';
import { creditSchedules, payments, subscriptions, type Payment, type PaymentProviderId } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { creditKeys } from '@/lib/server/credits/keys';
import { addUtcDays, addUtcMonths } from '@/lib/server/credits/time';
import type { BillingEventOf } from '@/lib/server/payments/events';
import { grantCredits } from '@/lib/server/usecases/grant-credits';
import { makeSubscription } from './factories';

// Payments with the credits they bought, made through the real primitives (grantCredits,
// startSubscription) under the keys of docs/payments.md, without the payment handlers: a test of what
// happens to a payment afterwards (a refund, a dispute) does not depend on how it was recorded.

type PaymentParams = {
  userId: string;
  now: Date;
  provider?: PaymentProviderId;
  /** The provider's id of the paid object (checkout session, invoice, order); the row id is `{provider}:{it}`. */
  paymentId?: string;
  /** What refunds and disputes name (Stripe's payment intent). */
  chargeId?: string;
  /** What was paid, in minor units; the product's price by default. */
  amount?: number;
};

function paymentRow(
  p: PaymentParams,
  fields: Pick<Payment, 'productId' | 'kind' | 'creditsGranted'> &
    Partial<Pick<Payment, 'subscriptionId' | 'grantKey' | 'currency'>> & {
      price: number;
    },
) {
  const provider = p.provider ?? 'stripe';
  const providerPaymentId = p.paymentId ?? `cs_${randomUUID()}`;
  return {
    id: `${provider}:${providerPaymentId}`,
    provider,
    providerPaymentId,
    providerChargeId: p.chargeId ?? `pi_${randomUUID()}`,
    userId: p.userId,
    productId: fields.productId,
    kind: fields.kind,
    subscriptionId: fields.subscriptionId ?? null,
    amount: p.amount ?? fields.price,
    currency: fields.currency ?? 'usd',
    creditsGranted: fields.creditsGranted,
    grantKey: fields.grantKey ?? null,
    paidAt: p.now,
    createdAt: p.now,
  } satisfies typeof payments.$inferInsert;
}

/** A credit pack paid for: its grant under `purchase:{paymentRowId}`, and the payment row naming that key. */
export async function makePackPayment(db: Database, params: PaymentParams & { packId?: string }): Promise<Payment> {
  const pack = findPack(creditsConfig, params.packId ?? 'pack-500')!;
  const row = paymentRow(params, { productId: pack.id, kind: 'pack', creditsGranted: pack.credits, price: pack.price.amount });
  const grantKey = creditKeys.purchase(row.id);
  const grant = await grantCredits(db, {
    userId: params.userId,
    amount: pack.credits,
    source: 'purchase',
    category: pack.category,
    expiresAt: pack.validityDays ? addUtcDays(params.now, pack.validityDays) : null,
    idempotencyKey: grantKey,
    purchaseId: row.id,
    now: params.now,
  });
  if (!grant.ok) throw new Error(`makePackPayment: ${grant.reason}`);
  const [payment] = await db
    .insert(payments)
    .values({ ...row, grantKey })
    .returning();
  return payment!;
}

/** A monthly plan's first period paid (an invoice): the subscription, its period's grant, and the payment naming that grant's key. */
export async function makePeriodPayment(
  db: Database,
  params: PaymentParams & { planId?: string; subscriptionId?: string },
): Promise<Payment> {
  const plan = findPlan(creditsConfig, params.planId ?? 'pro-monthly')!;
  if (plan.billing !== 'monthly') throw new Error(`makePeriodPayment: ${plan.id} is not monthly`);
  const subscriptionId = params.subscriptionId ?? `sub_${randomUUID()}`;
  await makeSubscription(db, { userId: params.userId, planId: plan.id, subscriptionId, now: params.now });
  await markProviderPlan(db, subscriptionId, params.provider, addUtcMonths(params.now, 1));
  const row = paymentRow(
    { ...params, paymentId: params.paymentId ?? `in_${randomUUID()}` },
    { productId: plan.id, kind: 'period', creditsGranted: plan.creditsPerPeriod, price: plan.price.amount, subscriptionId },
  );
  const [payment] = await db
    .insert(payments)
    .values({
      ...row,
      grantKey: creditKeys.subscriptionPeriod(subscriptionId, params.now),
      periodStart: params.now,
      periodEnd: addUtcMonths(params.now, 1),
    })
    .returning();
  return payment!;
}

/** A yearly plan's term paid (an invoice): the subscription, the term's schedule with its first installment, tied to the payment. */
export async function makeTermPayment(
  db: Database,
  params: PaymentParams & { planId?: string; subscriptionId?: string },
): Promise<{ payment: Payment; scheduleId: string }> {
  const plan = findPlan(creditsConfig, params.planId ?? 'pro-yearly')!;
  if (plan.billing !== 'yearly') throw new Error(`makeTermPayment: ${plan.id} is not yearly`);
  const subscriptionId = params.subscriptionId ?? `sub_${randomUUID()}`;
  const started = await makeSubscription(db, { userId: params.userId, planId: plan.id, subscriptionId, now: params.now });
  await markProviderPlan(db, subscriptionId, params.provider, null);
  const row = paymentRow(
    { ...params, paymentId: params.paymentId ?? `in_${randomUUID()}` },
    { productId: plan.id, kind: 'term', creditsGranted: started.schedule!.creditsGranted, price: plan.price.amount, subscriptionId },
  );
  const [payment] = await db
    .insert(payments)
    .values({ ...row, periodStart: params.now, periodEnd: addUtcMonths(params.now, 12) })
    .returning();
  await db.update(creditSchedules).set({ paymentId: payment!.id }).where(eq(creditSchedules.id, started.schedule!.id));
  return { payment: payment!, scheduleId: started.schedule!.id };
}

/** The lifetime plan bought once: its subscription row's id is the payment row's id, and this month's credits are granted. */
export async function makeLifetimePayment(db: Database, params: PaymentParams): Promise<Payment> {
  const plan = findPlan(creditsConfig, 'lifetime')!;
  if (plan.billing !== 'lifetime') throw new Error('makeLifetimePayment: no lifetime plan');
  const row = paymentRow(params, { productId: plan.id, kind: 'lifetime', creditsGranted: plan.creditsPerMonth, price: plan.price.amount });
  await makeSubscription(db, { userId: params.userId, planId: plan.id, subscriptionId: row.id, now: params.now });
  await markProviderPlan(db, row.id, params.provider, null);
  const [payment] = await db
    .insert(payments)
    .values({ ...row, subscriptionId: row.id })
    .returning();
  return payment!;
}

async function markProviderPlan(db: Database, subscriptionId: string, provider: PaymentProviderId = 'stripe', paidThrough: Date | null) {
  await db.update(subscriptions).set({ provider, paidThrough }).where(eq(subscriptions.id, subscriptionId));
}

/** A refund (or, with `kind: 'dispute'`, a dispute) of a payment, as an adapter normalizes it. */
export function reversalOf(
  payment: Pick<Payment, 'providerChargeId' | 'currency'>,
  params: { amount: number; at: Date; reversalId?: string; kind?: 'refund' | 'dispute'; paymentRefs?: string[]; currency?: string },
): BillingEventOf<'payment_reversed'> {
  return {
    type: 'payment_reversed',
    kind: params.kind ?? 'refund',
    reversalId: params.reversalId ?? `re_${randomUUID()}`,
    paymentRefs: params.paymentRefs ?? [payment.providerChargeId!],
    amount: params.amount,
    currency: params.currency ?? payment.currency,
    at: params.at,
  };
}
