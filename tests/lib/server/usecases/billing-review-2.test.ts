import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { paymentReversals, payments } from '@/lib/server/db/schema';
import { creemEventToBillingEvents } from '@/lib/server/payments/creem-events';
import { applyBillingWebhook } from '@/lib/server/usecases/apply-billing-webhook';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf } from '@tests/helpers/queries';
import { creemSubscriptionObject, setupEnv } from '@tests/helpers/creem';

// A second adversarial review of the money paths (issue 13), on the Creem adapter against the payloads
// Creem documents (docs.creem.io "Webhooks", armitage-labs/creem packages/docs/code/webhooks.mdx). Each
// test states a rule and a scenario that breaks it in the code as committed; they fail until it is fixed.

const MONTHLY_PRODUCT = 'prod_review2_pro_monthly';
setupEnv({ CREEM_PRODUCT_PRO_MONTHLY: MONTHLY_PRODUCT });
const t = setupTestDatabase();

const PERIOD_START = '2026-03-10T11:58:38.000Z';
const PERIOD_END = '2026-04-10T11:58:38.000Z';
const PAID_AT = at('2026-03-10T12:00:00Z');

/** One Creem delivery through the adapter's own reading of it, applied as the webhook route applies it. */
async function deliver(eventType: string, object: unknown, now: Date) {
  const events = creemEventToBillingEvents(eventType, object, now);
  return applyBillingWebhook(t.db, { provider: 'creem', eventId: `evt_${randomUUID()}`, eventType, events }, { now });
}

/**
 * `subscription.paid` exactly as Creem sends it: the subscription with `last_transaction_id`, and no
 * transaction object (Creem's example has none), so nothing in it says what the customer paid.
 */
async function subscribedThroughCreem() {
  const user = await makeUser(t.db, { now: PAID_AT });
  const subscriptionId = `sub_${randomUUID().replaceAll('-', '')}`;
  const transactionId = `tran_${randomUUID().replaceAll('-', '')}`;
  const subscription = creemSubscriptionObject({
    subscriptionId,
    creemProductId: MONTHLY_PRODUCT,
    price: 1_900,
    lastTransactionId: transactionId,
    periodStart: PERIOD_START,
    periodEnd: PERIOD_END,
    metadata: { userId: user.id, productId: 'pro-monthly', orderId: randomUUID() },
  });
  await deliver('subscription.paid', subscription, PAID_AT);
  return { user, subscriptionId, transactionId };
}

/** `refund.created` as Creem's example shapes it: the transaction with what was charged before tax (`amount`) and paid (`amount_paid`). */
function creemRefund(p: { transactionId: string; subscriptionId: string; amount: number; amountPaid: number; refundAmount: number }) {
  return {
    id: `ref_${randomUUID().replaceAll('-', '')}`,
    object: 'refund',
    status: 'succeeded',
    refund_amount: p.refundAmount,
    refund_currency: 'USD',
    reason: 'requested_by_customer',
    transaction: {
      id: p.transactionId,
      object: 'transaction',
      amount: p.amount,
      amount_paid: p.amountPaid,
      currency: 'USD',
      type: 'invoice',
      tax_country: 'NL',
      tax_amount: p.amountPaid - p.amount,
      status: 'refunded',
      refunded_amount: p.refundAmount,
      order: 'ord_first_checkout',
      subscription: p.subscriptionId,
      description: 'Subscription payment',
      period_start: at(PERIOD_START).getTime(),
      period_end: at(PERIOD_END).getTime(),
      created_at: PAID_AT.getTime(),
      mode: 'test',
    },
    order: { id: 'ord_first_checkout', object: 'order', amount: p.amount, currency: 'USD', status: 'paid', type: 'recurring' },
    created_at: at('2026-03-12T09:00:00Z').getTime(),
    mode: 'test',
  };
}

describe('Creem: a refund is measured against the money the refunded transaction actually took', () => {
  it('a full refund of a Creem subscription payment bought with a discount takes back all of its unspent credits', async () => {
    // Pro monthly lists at 19.00; the buyer used a 50% coupon and paid 9.50 (no tax). subscription.paid
    // carries no transaction, so the adapter records the list price (1 900) as the payment's amount.
    // Creem then refunds everything the customer paid: 950. All the money is back, so all 1 000
    // credits must go; measured against 1 900 the refund is "half" and 500 credits stay with the user.
    const { user, subscriptionId, transactionId } = await subscribedThroughCreem();
    const before = await balanceOf(t.db, user.id);
    const refund = creemRefund({ transactionId, subscriptionId, amount: 950, amountPaid: 950, refundAmount: 950 });
    await deliver('refund.created', refund, at('2026-03-12T09:05:00Z'));

    const [reversal] = await t.db
      .select()
      .from(paymentReversals)
      .where(eq(paymentReversals.paymentId, `creem:${transactionId}`));
    expect(reversal).toMatchObject({ kind: 'refund', creditsTakenBack: 1_000, creditsNotRecovered: 0 });
    expect(await balanceOf(t.db, user.id)).toBe(before - 1_000);
    const [payment] = await t.db
      .select()
      .from(payments)
      .where(eq(payments.id, `creem:${transactionId}`));
    expect(payment!.status).toBe('refunded');
    await expectInvariants(t.db);
  });

  it('half of a Creem subscription payment refunded (tax included) takes back half of its credits, not more', async () => {
    // Pro monthly at 19.00 before tax; the Dutch buyer paid 22.99 with 21% VAT. The merchant refunds
    // half of what was paid: 11.50. Half the money is back, so 500 of the 1 000 credits go. Measured
    // against the list price before tax (1 900), 1 150 is 60.5% and 605 credits are taken.
    const { user, subscriptionId, transactionId } = await subscribedThroughCreem();
    const before = await balanceOf(t.db, user.id);
    const refund = creemRefund({ transactionId, subscriptionId, amount: 1_900, amountPaid: 2_299, refundAmount: 1_150 });
    await deliver('refund.created', refund, at('2026-03-12T09:05:00Z'));

    const expected = Math.round((1_000 * 1_150) / 2_299);
    const [reversal] = await t.db
      .select()
      .from(paymentReversals)
      .where(eq(paymentReversals.paymentId, `creem:${transactionId}`));
    expect(reversal).toMatchObject({ kind: 'refund', creditsTakenBack: expected });
    expect(await balanceOf(t.db, user.id)).toBe(before - expected);
    await expectInvariants(t.db);
  });
});
