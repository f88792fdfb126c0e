import 'server-only';
import { findPlan, type CreditsConfig, type MonthlyPlan, type YearlyPlan } from '@/config/credits';
import { eq, sql, type SQL } from 'drizzle-orm';
import {
  billingCustomers,
  payments,
  subscriptions,
  users,
  type Payment,
  type PaymentProviderId,
  type Subscription,
} from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';

// The rows the billing handlers share: who the customer is, what was paid, and the subscription a
// payment belongs to. Each is written once under its provider id; a second event for the same object
// finds the first row instead of writing another.

/** `{provider}:{the provider's id}`: the id of a payment row, and the root of every key its grants use. */
export const paymentRowId = (provider: PaymentProviderId, providerPaymentId: string) => `${provider}:${providerPaymentId}`;

/** The columns of a payment row every handler fills the same way, from the normalized event. */
export function paymentValues(
  ctx: { provider: PaymentProviderId; now: Date },
  event: { paymentId: string; chargeId?: string | null; userId: string; amount: number; currency: string; paidAt: Date },
  productId: string,
) {
  return {
    id: paymentRowId(ctx.provider, event.paymentId),
    provider: ctx.provider,
    providerPaymentId: event.paymentId,
    providerChargeId: event.chargeId ?? null,
    userId: event.userId,
    productId,
    amount: event.amount,
    currency: event.currency,
    paidAt: event.paidAt,
    createdAt: ctx.now,
  };
}

/**
 * Why a paid object cannot be credited here, or null when it can: its product is not one this
 * handler sells (`expected` says which), or its user does not exist. The caller records the event as
 * ignored with this reason; the log line names the payment for support.
 */
export async function whyNotCredited(
  tx: Database,
  p: { paymentId: string; userId: string; productId: string; productFits: boolean; expected: string },
): Promise<string | null> {
  let reason: string | null = null;
  if (!p.productFits) reason = `"${p.productId}" is not ${p.expected} of src/config`;
  else {
    const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, p.userId));
    if (!user) reason = `no user "${p.userId}"`;
  }
  if (reason) console.error(`[billing] payment ${p.paymentId}: ${reason}; nothing granted`);
  return reason;
}

/**
 * The monthly or yearly plan a subscription's payment names, or why it cannot be credited (see
 * whyNotCredited): what both subscription payment handlers check first.
 */
export async function subscriptionPlanPaid(
  tx: Database,
  event: { paymentId: string; userId: string; productId: string },
  config: CreditsConfig,
): Promise<{ plan: MonthlyPlan | YearlyPlan; ignored: null } | { plan: null; ignored: string }> {
  const plan = findPlan(config, event.productId);
  const fits = plan !== undefined && plan.billing !== 'lifetime';
  const ignored = await whyNotCredited(tx, { ...event, productFits: fits, expected: 'a monthly or yearly plan' });
  return ignored === null && fits ? { plan, ignored: null } : { plan: null, ignored: ignored ?? 'not a subscription plan' };
}

/** Remembers the provider's customer of a user (the billing portal needs it); the first one recorded stays. */
export async function rememberCustomer(tx: Database, provider: PaymentProviderId, customerId: string | null | undefined, userId: string) {
  if (!customerId) return;
  await tx.insert(billingCustomers).values({ provider, customerId, userId }).onConflictDoNothing();
}

/**
 * Records a payment, once: `created: false` when its row exists already (a redelivery, the same
 * payment under another event id, the success page racing the webhook), and then nothing is granted
 * again. A concurrent insert of the same id waits for the first transaction and then finds its row.
 * A created payment's id joins `ctx.receipts`: its receipt is mailed once the transaction commits.
 */
export async function recordPayment(
  tx: Database,
  values: typeof payments.$inferInsert,
  ctx: { receipts: string[] },
): Promise<{ created: true; payment: Payment } | { created: false; payment: Payment }> {
  const [created] = await tx.insert(payments).values(values).onConflictDoNothing().returning();
  if (created) {
    ctx.receipts.push(created.id);
    return { created: true, payment: created };
  }
  const [existing] = await tx.select().from(payments).where(eq(payments.id, values.id));
  if (existing!.userId !== values.userId || existing!.productId !== values.productId) {
    throw new Error(`payment ${values.id} was recorded for another user or product`);
  }
  return { created: false, payment: existing! };
}

/**
 * SQL: batch `b` is one the payment paid for: its immediate grant (`grant_key`: a pack, a period, a
 * proration), an installment of its yearly term (`credit_schedules.payment_id`), or a month of the
 * lifetime plan it bought. One definition for what a refund takes from and what the billing page shows.
 */
export function paidByPayment(b: string, payment: { id: SQL; kind: SQL; grantKey: SQL; subscriptionId: SQL }): SQL {
  const batch = sql.raw(b);
  return sql`(${batch}.idempotency_key = ${payment.grantKey}
          or ${batch}.schedule_id in (select s.id from credit_schedules s where s.payment_id = ${payment.id})
          or (${payment.kind}::text = 'lifetime' and ${batch}.source = 'lifetime' and ${batch}.subscription_id = ${payment.subscriptionId}))`;
}

/** Adds what a grant gave to the payment that paid for it (shown on the billing page). */
export async function addCreditsToPayment(tx: Database, paymentId: string, credits: number) {
  await tx
    .update(payments)
    .set({ creditsGranted: sql`${payments.creditsGranted} + ${credits}` })
    .where(eq(payments.id, paymentId));
}

/**
 * The subscription, locked: every billing change of a subscription takes this lock first (then its
 * schedules, then the balance). FOR NO KEY UPDATE lets the jobs' batch inserts (whose foreign key takes
 * a key-share lock on the row) go on: with FOR UPDATE a job holding a schedule would deadlock with us.
 */
export async function lockSubscription(tx: Database, subscriptionId: string): Promise<Subscription | undefined> {
  const [row] = await tx.select().from(subscriptions).where(eq(subscriptions.id, subscriptionId)).for('no key update');
  return row;
}
