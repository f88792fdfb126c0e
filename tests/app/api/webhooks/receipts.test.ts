import { addMonths } from 'date-fns';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { POST } from '@/app/api/webhooks/stripe/route';
import { resetEnvCache } from '@/env';
import { payments } from '@/lib/server/db/schema';
import { testProvider } from '@/lib/server/payments/test-checkout';
import { completeTestCheckout } from '@/lib/server/usecases/complete-test-checkout';
import { startCheckout } from '@/lib/server/usecases/start-checkout';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { startMailbox, type Mailbox } from '@tests/helpers/mailbox';
import { balanceOf } from '@tests/helpers/queries';
import { checkoutSessionObject, invoiceObject, setupStripeStandIn, stripeEvent, stripeWebhookRequest } from '@tests/helpers/stripe';

// One receipt per payment, mailed after the payment's transaction commits: through the test
// checkout and through Stripe-signed webhooks on the route itself, to a real SMTP server.

const t = setupTestDatabase({ routes: true });
setupStripeStandIn();
let mailbox: Mailbox;
beforeAll(async () => {
  mailbox = await startMailbox();
});
beforeEach(() => {
  // setupStripeStandIn stubs its env in a beforeAll; these join it (and are undone with it).
  vi.stubEnv('SMTP_URL', mailbox.url);
  vi.stubEnv('BETTER_AUTH_URL', 'https://app.example.test');
  resetEnvCache();
  mailbox.messages.length = 0;
  mailbox.refuseAll(false);
});
afterAll(async () => {
  await mailbox.close();
});

const receiptsTo = (email: string) => mailbox.messages.filter((m) => m.kind === 'receipt' && m.to === email);
const paymentRow = async (id: string) => (await t.db.select().from(payments).where(eq(payments.id, id)))[0]!;

describe('the receipt mail', () => {
  it('the test checkout: one receipt naming the pack, its price, its credits, the date and the billing page; a second Pay sends none', async () => {
    const user = await makeUser(t.db, { emailVerified: true });
    const now = at('2026-05-31T10:00:00Z');
    const started = await startCheckout(t.db, {
      userId: user.id,
      email: user.email,
      productId: 'pack-2000',
      origin: 'http://localhost:3000',
      provider: testProvider,
    });
    if (!started.ok) throw new Error(started.message);
    await completeTestCheckout(t.db, { orderId: started.orderId, userId: user.id, now });
    await completeTestCheckout(t.db, { orderId: started.orderId, userId: user.id, now: at('2026-05-31T10:05:00Z') });

    const [receipt, ...more] = receiptsTo(user.email);
    expect(more).toEqual([]);
    expect(receipt!.subject).toBe('Receipt: 2 000 credits, $15.00');
    expect(receipt!.text).toContain('You bought: 2 000 credits (credit pack)');
    expect(receipt!.text).toContain('Amount paid: $15.00');
    expect(receipt!.text).toContain('Credits granted: 2,000 credits');
    expect(receipt!.text).toContain('Date: May 31, 2026, 10:00 AM UTC');
    expect(receipt!.links).toContain('https://app.example.test/billing');
    expect((await paymentRow(`test:test_pay_${started.orderId}`)).receiptSentAt).not.toBeNull();
    await expectInvariants(t.db, user.id);
  });

  it('a Stripe webhook: one receipt; the same delivery again (duplicate) and the same session under another event id send none', async () => {
    const user = await makeUser(t.db, { emailVerified: true });
    const session = checkoutSessionObject({ userId: user.id, productId: 'pack-500', amount: 500 });
    const event = stripeEvent('checkout.session.completed', session);
    expect((await POST(stripeWebhookRequest(event))).status).toBe(200);
    expect(await (await POST(stripeWebhookRequest(event))).json()).toEqual({ received: true, duplicate: true });
    expect((await POST(stripeWebhookRequest(stripeEvent('checkout.session.async_payment_succeeded', session)))).status).toBe(200);

    const receipts = receiptsTo(user.email);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]!.text).toContain('Amount paid: $5.00');
    expect(receipts[0]!.text).toContain('Credits granted: 500 credits');
    expect(receipts[0]!.text).toContain(`Reference: stripe:${session.id}`);
    expect(await balanceOf(t.db, user.id)).toBe(500);
    await expectInvariants(t.db, user.id);
  });

  it('four deliveries of one payment at once (under different event ids): one receipt', async () => {
    const user = await makeUser(t.db, { emailVerified: true });
    const session = checkoutSessionObject({ userId: user.id, productId: 'pack-500', amount: 500 });
    const types = ['checkout.session.completed', 'checkout.session.async_payment_succeeded'];
    const responses = await Promise.all(
      Array.from({ length: 4 }, (_, i) => POST(stripeWebhookRequest(stripeEvent(types[i % 2]!, session)))),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(receiptsTo(user.email)).toHaveLength(1);
    expect(await balanceOf(t.db, user.id)).toBe(500);
    await expectInvariants(t.db, user.id);
  });

  it('a paid subscription invoice: one receipt with the period it pays for', async () => {
    const user = await makeUser(t.db, { emailVerified: true });
    const start = new Date(Date.now() - 60_000);
    const invoice = invoiceObject({
      billingReason: 'subscription_create',
      subscriptionId: `sub_${user.id}`,
      metadata: { userId: user.id, productId: 'pro-monthly' },
      lines: [{ priceProductId: 'pro-monthly', amount: 1_900, start, end: addMonths(start, 1) }],
      paidAt: start,
    });
    for (const event of [stripeEvent('invoice.paid', invoice), stripeEvent('invoice.paid', invoice)]) {
      expect((await POST(stripeWebhookRequest(event))).status).toBe(200);
    }
    const receipts = receiptsTo(user.email);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]!.text).toContain('You bought: Pro (monthly): subscription period');
    expect(receipts[0]!.text).toContain('Amount paid: $19.00');
    expect(receipts[0]!.text).toContain('Credits granted: 1,000 credits');
    expect(receipts[0]!.text).toMatch(/Period: .+ to .+/);
    await expectInvariants(t.db, user.id);
  });

  it('the SMTP server refusing: the webhook still answers 200, the credits land, and the payment shows its receipt unsent', async () => {
    const user = await makeUser(t.db, { emailVerified: true });
    const session = checkoutSessionObject({ userId: user.id, productId: 'pack-500', amount: 500 });
    mailbox.refuseAll(true);
    const response = await POST(stripeWebhookRequest(stripeEvent('checkout.session.completed', session)));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true });
    expect(await balanceOf(t.db, user.id)).toBe(500);
    expect((await paymentRow(`stripe:${session.id}`)).receiptSentAt).toBeNull();
    expect(mailbox.messages).toHaveLength(0);
    // A redelivery is a duplicate: it neither grants nor mails (the receipt is not retried automatically).
    mailbox.refuseAll(false);
    expect((await POST(stripeWebhookRequest(stripeEvent('checkout.session.async_payment_succeeded', session)))).status).toBe(200);
    expect(mailbox.messages).toHaveLength(0);
    expect(await balanceOf(t.db, user.id)).toBe(500);
    await expectInvariants(t.db, user.id);
  });
});
