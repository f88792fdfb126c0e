import { afterAll, beforeEach, describe, expect, it, test } from 'vitest';
import { creditsConfig, findProduct } from '@/config/credits';
import { resetEnvCache } from '@/env';
import { PaymentsNotConfiguredError, WebhookSignatureError } from '@/lib/server/payments/provider';
import { stripeProvider } from '@/lib/server/payments/stripe';
import { at } from '@tests/helpers/factories';
import {
  chargeObject,
  checkoutSessionObject,
  disputeObject,
  invoiceObject,
  refundObject,
  setupStripeStandIn,
  stripeEvent,
  stripePriceOf,
  stripeSignature,
  stubStripeEnv,
  subscriptionObject,
  unstubStripeEnv,
} from '@tests/helpers/stripe';

const standIn = setupStripeStandIn();
beforeEach(() => {
  standIn.requests.length = 0;
});

/** Signs the event as Stripe would and runs it through the adapter's verification and mapping. */
async function deliver(event: object) {
  const body = JSON.stringify(event);
  return stripeProvider.verifyWebhook(body, new Headers({ 'stripe-signature': stripeSignature(body) }));
}

const userId = 'user-stripe-1';
const periodStart = at('2026-05-31T15:00:00Z');
const periodEnd = at('2026-06-30T15:00:00Z');

describe('configuration', () => {
  afterAll(() => stubStripeEnv({ apiUrl: standIn.url }));

  it('lists the missing keys and refuses to work without them, without throwing at import', async () => {
    unstubStripeEnv();
    expect(stripeProvider.missingConfiguration()).toEqual(['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET']);
    await expect(stripeProvider.fetchCheckout('cs_test_1')).rejects.toBeInstanceOf(PaymentsNotConfiguredError);
    stubStripeEnv({ apiUrl: standIn.url });
    expect(stripeProvider.missingConfiguration()).toEqual([]);
  });
});

describe('webhook signature', () => {
  const event = stripeEvent('customer.created', { id: 'cus_1', object: 'customer' });
  const body = JSON.stringify(event);

  it('accepts a delivery signed with the webhook secret and names its event', async () => {
    const webhook = await stripeProvider.verifyWebhook(body, new Headers({ 'stripe-signature': stripeSignature(body) }));
    expect(webhook).toEqual({ provider: 'stripe', eventId: event.id, eventType: 'customer.created', events: [] });
  });

  test.each([
    ['signed with another secret', () => ({ body, signature: stripeSignature(body, { secret: 'whsec_someone_else_0123456789' }) })],
    ['with a body changed after signing', () => ({ body: body.replace('cus_1', 'cus_2'), signature: stripeSignature(body) })],
    [
      'signed more than the 300 s tolerance ago',
      () => ({ body, signature: stripeSignature(body, { timestamp: new Date(Date.now() - 301_000) }) }),
    ],
    ['with a garbled header', () => ({ body, signature: 't=abc,v1=def' })],
  ])('refuses a delivery %s', async (_, delivery) => {
    const { body: sent, signature } = delivery();
    await expect(stripeProvider.verifyWebhook(sent, new Headers({ 'stripe-signature': signature }))).rejects.toBeInstanceOf(
      WebhookSignatureError,
    );
  });

  it('refuses a delivery without a signature header', async () => {
    await expect(stripeProvider.verifyWebhook(body, new Headers())).rejects.toBeInstanceOf(WebhookSignatureError);
  });
});

describe('one-time checkouts', () => {
  it('a paid pack checkout is a one-time payment keyed by the session, with the payment intent for refunds', async () => {
    const session = checkoutSessionObject({ userId, productId: 'pack-500', amount: 500, paymentIntent: 'pi_pack', customer: 'cus_1' });
    const event = stripeEvent('checkout.session.completed', session, { created: at('2026-06-15T12:00:00Z') });
    const webhook = await deliver(event);
    expect(webhook.events).toEqual([
      {
        type: 'one_time_payment_succeeded',
        userId,
        productId: 'pack-500',
        customerId: 'cus_1',
        paymentId: session.id,
        chargeId: 'pi_pack',
        amount: 500,
        currency: 'usd',
        paidAt: at('2026-06-15T12:00:00Z'),
      },
    ]);
  });

  it('a checkout whose payment is still pending grants nothing until async_payment_succeeded', async () => {
    const pending = checkoutSessionObject({ id: 'cs_async', userId, productId: 'lifetime', paymentStatus: 'unpaid' });
    expect((await deliver(stripeEvent('checkout.session.completed', pending))).events).toEqual([]);
    const paid = { ...pending, payment_status: 'paid' };
    const [event] = (await deliver(stripeEvent('checkout.session.async_payment_succeeded', paid))).events;
    expect(event).toMatchObject({ type: 'one_time_payment_succeeded', paymentId: 'cs_async', productId: 'lifetime' });
  });

  it('the buyer comes from client_reference_id when the metadata has no userId (a payment link)', async () => {
    const session = checkoutSessionObject({ userId, productId: 'pack-2000', metadata: { productId: 'pack-2000' } });
    const [event] = (await deliver(stripeEvent('checkout.session.completed', session))).events;
    expect(event).toMatchObject({ userId, productId: 'pack-2000' });
  });

  it('a subscription checkout grants nothing itself: its paid invoice does', async () => {
    const session = checkoutSessionObject({ userId, productId: 'pro-monthly', mode: 'subscription' });
    expect((await deliver(stripeEvent('checkout.session.completed', session))).events).toEqual([]);
  });
});

describe('subscription invoices', () => {
  const line = { priceProductId: 'pro-monthly', amount: 1_900, start: periodStart, end: periodEnd };

  test.each(['subscription_create', 'subscription_cycle'])(
    'a paid %s invoice pays the period of its subscription line (not the invoice period)',
    async (billingReason) => {
      const invoice = invoiceObject({
        billingReason,
        subscriptionId: 'sub_1',
        metadata: { userId, productId: 'pro-monthly' },
        lines: [line],
        paidAt: at('2026-05-31T15:00:05Z'),
        customer: 'cus_1',
        paymentIntent: 'pi_invoice',
      });
      const webhook = await deliver(stripeEvent('invoice.paid', invoice, { created: at('2026-05-31T15:00:09Z') }));
      expect(webhook.events).toEqual([
        {
          type: 'subscription_period_paid',
          userId,
          productId: 'pro-monthly',
          customerId: 'cus_1',
          subscriptionId: 'sub_1',
          paymentId: invoice.id,
          chargeId: 'pi_invoice',
          amount: 1_900,
          currency: 'usd',
          periodStart,
          periodEnd,
          paidAt: at('2026-05-31T15:00:05Z'),
        },
      ]);
    },
  );

  it("the product is the line's price mapped back to src/config; the metadata is the fallback", async () => {
    // The subscription was bought as starter and later changed to pro: the price says what is paid now.
    const changed = invoiceObject({
      billingReason: 'subscription_cycle',
      subscriptionId: 'sub_2',
      metadata: { userId, productId: 'starter-monthly' },
      lines: [line],
    });
    expect((await deliver(stripeEvent('invoice.paid', changed))).events[0]).toMatchObject({ productId: 'pro-monthly' });
    const unknownPrice = invoiceObject({
      billingReason: 'subscription_cycle',
      subscriptionId: 'sub_2',
      metadata: { userId, productId: 'starter-monthly' },
      lines: [{ ...line, priceProductId: 'retired-plan' }],
    });
    expect((await deliver(stripeEvent('invoice.paid', unknownPrice))).events[0]).toMatchObject({ productId: 'starter-monthly' });
  });

  it('paidAt is the event time when the invoice has no paid_at', async () => {
    const invoice = invoiceObject({
      billingReason: 'subscription_cycle',
      subscriptionId: 'sub_3',
      metadata: { userId },
      lines: [line],
      paidAt: null,
    });
    const [event] = (await deliver(stripeEvent('invoice.paid', invoice, { created: at('2026-06-30T15:02:00Z') }))).events;
    expect(event).toMatchObject({ paidAt: at('2026-06-30T15:02:00Z'), chargeId: null });
  });

  it('a paid subscription_update invoice is a plan change prorated from the new plan line', async () => {
    const changedAt = at('2026-06-10T08:00:00Z');
    const invoice = invoiceObject({
      billingReason: 'subscription_update',
      subscriptionId: 'sub_4',
      metadata: { userId, productId: 'starter-monthly' },
      lines: [
        { priceProductId: 'starter-monthly', amount: -467, start: changedAt, end: periodEnd, proration: true },
        { priceProductId: 'pro-monthly', amount: 1_267, start: changedAt, end: periodEnd, proration: true },
      ],
    });
    const [event] = (await deliver(stripeEvent('invoice.paid', invoice))).events;
    expect(event).toMatchObject({
      type: 'plan_change_paid',
      subscriptionId: 'sub_4',
      productId: 'pro-monthly',
      paymentId: invoice.id,
      amount: 800,
      changedAt,
      periodEnd,
    });
  });

  test.each(['manual', 'subscription_threshold'])('a paid %s invoice pays for no period: no event', async (billingReason) => {
    const invoice = invoiceObject({ billingReason, subscriptionId: 'sub_5', metadata: { userId }, lines: [line] });
    expect((await deliver(stripeEvent('invoice.paid', invoice))).events).toEqual([]);
  });

  it('a failed invoice puts its subscription past due', async () => {
    const invoice = invoiceObject({
      billingReason: 'subscription_cycle',
      subscriptionId: 'sub_6',
      metadata: { userId },
      lines: [line],
      status: 'open',
    });
    const webhook = await deliver(stripeEvent('invoice.payment_failed', invoice, { created: at('2026-06-30T16:00:00Z') }));
    expect(webhook.events).toEqual([
      { type: 'payment_failed', subscriptionId: 'sub_6', paymentId: invoice.id, asOf: at('2026-06-30T16:00:00Z') },
    ]);
  });
});

describe('subscription state', () => {
  test.each([
    ['active', 'active'],
    ['trialing', 'active'],
    ['past_due', 'past_due'],
    ['unpaid', 'past_due'],
    ['canceled', 'canceled'],
    ['incomplete_expired', 'canceled'],
  ])('Stripe status %s is stored as %s, with the period of its item', async (stripeStatus, status) => {
    const subscription = subscriptionObject({
      id: 'sub_s',
      status: stripeStatus,
      productId: 'pro-yearly',
      metadata: { userId, productId: 'pro-yearly' },
      start: periodStart,
      end: at('2027-05-31T15:00:00Z'),
      customer: 'cus_s',
    });
    const webhook = await deliver(stripeEvent('customer.subscription.updated', subscription, { created: at('2026-06-01T00:00:00Z') }));
    expect(webhook.events).toEqual([
      {
        type: 'subscription_state_changed',
        subscriptionId: 'sub_s',
        userId,
        productId: 'pro-yearly',
        customerId: 'cus_s',
        status,
        cancelAtPeriodEnd: false,
        currentPeriodStart: periodStart,
        currentPeriodEnd: at('2027-05-31T15:00:00Z'),
        asOf: at('2026-06-01T00:00:00Z'),
      },
    ]);
  });

  it('an incomplete subscription (first invoice unpaid) says nothing yet', async () => {
    const subscription = subscriptionObject({
      id: 'sub_i',
      status: 'incomplete',
      productId: 'pro-monthly',
      start: periodStart,
      end: periodEnd,
    });
    expect((await deliver(stripeEvent('customer.subscription.created', subscription))).events).toEqual([]);
  });

  test.each([
    ['cancel_at_period_end', { cancelAtPeriodEnd: true }],
    ['a cancel_at date', { cancelAt: periodEnd }],
  ])('a subscription set to end by %s is canceling at period end', async (_, cancel) => {
    const subscription = subscriptionObject({
      id: 'sub_c',
      status: 'active',
      productId: 'pro-monthly',
      start: periodStart,
      end: periodEnd,
      ...cancel,
    });
    const [event] = (await deliver(stripeEvent('customer.subscription.updated', subscription))).events;
    expect(event).toMatchObject({ cancelAtPeriodEnd: true, userId: null, productId: 'pro-monthly' });
  });

  it('a deleted subscription ended at ended_at, or at the event time without one', async () => {
    const ended = subscriptionObject({
      id: 'sub_d',
      status: 'canceled',
      productId: 'pro-monthly',
      start: periodStart,
      end: periodEnd,
      endedAt: at('2026-06-20T00:00:00Z'),
    });
    const created = at('2026-06-20T00:00:03Z');
    expect((await deliver(stripeEvent('customer.subscription.deleted', ended, { created }))).events).toEqual([
      { type: 'subscription_ended', subscriptionId: 'sub_d', endedAt: at('2026-06-20T00:00:00Z'), asOf: created },
    ]);
    const withoutEnd = { ...ended, ended_at: null };
    expect((await deliver(stripeEvent('customer.subscription.deleted', withoutEnd, { created }))).events[0]).toMatchObject({
      endedAt: created,
    });
  });
});

describe('refunds and disputes', () => {
  it("a refund of an invoice's payment names the payment intent, the charge and the invoice (looked up by payment intent)", async () => {
    standIn.invoicePayments.push({ invoice: 'in_refunded', paymentIntent: 'pi_sub' });
    const refund = refundObject({
      id: 're_1',
      paymentIntent: 'pi_sub',
      charge: 'ch_sub',
      amount: 1_900,
      created: at('2026-06-02T00:00:00Z'),
    });
    const webhook = await deliver(stripeEvent('refund.created', refund));
    expect(webhook.events).toEqual([
      {
        type: 'payment_reversed',
        kind: 'refund',
        reversalId: 're_1',
        paymentRefs: ['pi_sub', 'ch_sub', 'in_refunded'],
        amount: 1_900,
        currency: 'usd',
        at: at('2026-06-02T00:00:00Z'),
      },
    ]);
    expect(standIn.requests).toMatchObject([
      { method: 'GET', path: '/v1/invoice_payments', query: { 'payment[type]': 'payment_intent', 'payment[payment_intent]': 'pi_sub' } },
    ]);
  });

  it('a refund of a checkout payment names its payment intent and charge', async () => {
    const refund = refundObject({ id: 're_2', paymentIntent: 'pi_pack', charge: 'ch_pack', amount: 250 });
    const [event] = (await deliver(stripeEvent('refund.created', refund))).events;
    expect(event).toMatchObject({ reversalId: 're_2', paymentRefs: ['pi_pack', 'ch_pack'], amount: 250 });
  });

  it('a failed refund gave nothing back', async () => {
    const refund = refundObject({ paymentIntent: 'pi_pack', charge: 'ch_pack', amount: 250, status: 'failed' });
    expect((await deliver(stripeEvent('refund.created', refund))).events).toEqual([]);
  });

  it('charge.refunded maps every refund of the charge under the same refund ids as refund.created', async () => {
    const first = refundObject({ id: 're_a', paymentIntent: 'pi_c', charge: 'ch_c', amount: 100 });
    const second = refundObject({ id: 're_b', paymentIntent: 'pi_c', charge: 'ch_c', amount: 150 });
    // Since API 2022-11-15 the charge's refunds are not in the payload: the adapter lists them.
    standIn.refundsByCharge.set('ch_c', [first, second]);
    const listed = await deliver(stripeEvent('charge.refunded', chargeObject({ id: 'ch_c', paymentIntent: 'pi_c' })));
    expect(listed.events.map((event) => event.type === 'payment_reversed' && [event.reversalId, event.amount])).toEqual([
      ['re_a', 100],
      ['re_b', 150],
    ]);
    expect(standIn.requests.some((request) => request.path === '/v1/refunds' && request.query.charge === 'ch_c')).toBe(true);
    const carried = await deliver(
      stripeEvent('charge.refunded', chargeObject({ id: 'ch_c', paymentIntent: 'pi_c', refunds: [first, second] })),
    );
    expect(carried.events).toEqual(listed.events);
    const single = await deliver(stripeEvent('refund.created', first));
    expect(single.events).toEqual([listed.events[0]]);
  });

  it('a dispute takes back its amount, keyed by the dispute', async () => {
    const dispute = disputeObject({ id: 'dp_1', charge: 'ch_d', paymentIntent: 'pi_d', amount: 500, created: at('2026-06-03T00:00:00Z') });
    expect((await deliver(stripeEvent('charge.dispute.created', dispute))).events).toEqual([
      {
        type: 'payment_reversed',
        kind: 'dispute',
        reversalId: 'dp_1',
        paymentRefs: ['pi_d', 'ch_d'],
        amount: 500,
        currency: 'usd',
        at: at('2026-06-03T00:00:00Z'),
      },
    ]);
  });
});

describe('API calls (through the stand-in)', () => {
  const request = (productId: string, customerId: string | null = null) => ({
    orderId: `order-${productId}`,
    userId,
    email: 'buyer@example.test',
    product: findProduct(creditsConfig, productId)!,
    customerId,
    successUrl: 'http://localhost:3000/billing/success?checkout={CHECKOUT_ID}',
    cancelUrl: 'http://localhost:3000/pricing',
  });

  it('a pack checkout is a one-time payment session, keyed by the order, carrying who and what', async () => {
    const checkout = await stripeProvider.createCheckout(request('pack-500'));
    expect(checkout.url).toBe(`https://checkout.stripe.test/c/pay/${checkout.checkoutId}`);
    const [sent] = standIn.requests;
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/checkout/sessions', headers: { 'idempotency-key': 'order-pack-500' } });
    expect(sent!.form).toEqual({
      mode: 'payment',
      'line_items[0][price]': stripePriceOf('pack-500'),
      'line_items[0][quantity]': '1',
      client_reference_id: userId,
      'metadata[userId]': userId,
      'metadata[productId]': 'pack-500',
      'metadata[orderId]': 'order-pack-500',
      customer_email: 'buyer@example.test',
      customer_creation: 'always',
      'payment_intent_data[metadata][userId]': userId,
      'payment_intent_data[metadata][productId]': 'pack-500',
      'payment_intent_data[metadata][orderId]': 'order-pack-500',
      success_url: 'http://localhost:3000/billing/success?checkout={CHECKOUT_SESSION_ID}',
      cancel_url: 'http://localhost:3000/pricing',
    });
  });

  it('a monthly or yearly plan is a subscription session whose subscription carries the metadata; a known customer is reused', async () => {
    for (const productId of ['pro-monthly', 'pro-yearly']) {
      await stripeProvider.createCheckout(request(productId, 'cus_known'));
    }
    expect(standIn.requests.map((sent) => sent.form)).toMatchObject([
      {
        mode: 'subscription',
        customer: 'cus_known',
        'subscription_data[metadata][userId]': userId,
        'subscription_data[metadata][productId]': 'pro-monthly',
      },
      { mode: 'subscription', customer: 'cus_known', 'subscription_data[metadata][productId]': 'pro-yearly' },
    ]);
    for (const sent of standIn.requests) {
      expect(sent.form).not.toHaveProperty('customer_email');
      expect(sent.form).not.toHaveProperty('payment_intent_data[metadata][userId]');
    }
  });

  it('the lifetime plan is bought once: a payment session', async () => {
    await stripeProvider.createCheckout(request('lifetime'));
    expect(standIn.requests[0]!.form).toMatchObject({ mode: 'payment', 'line_items[0][price]': stripePriceOf('lifetime') });
  });

  it('a product without its price id is refused before any call, naming the variable', async () => {
    delete process.env.STRIPE_PRICE_PACK_2000;
    resetEnvCache();
    try {
      await expect(stripeProvider.createCheckout(request('pack-2000'))).rejects.toThrow(
        new PaymentsNotConfiguredError('stripe', ['STRIPE_PRICE_PACK_2000']),
      );
      expect(standIn.requests).toEqual([]);
    } finally {
      stubStripeEnv({ apiUrl: standIn.url });
    }
  });

  it('the success page reads a paid one-time checkout as the webhook does; an unpaid one as nothing', async () => {
    const paid = checkoutSessionObject({ id: 'cs_paid', userId, productId: 'pack-500', paymentIntent: 'pi_paid', customer: 'cus_p' });
    standIn.checkoutSessions.set('cs_paid', paid);
    standIn.checkoutSessions.set(
      'cs_open',
      checkoutSessionObject({ id: 'cs_open', userId, productId: 'pack-500', paymentStatus: 'unpaid' }),
    );
    const [fetched] = await stripeProvider.fetchCheckout('cs_paid');
    const [delivered] = (await deliver(stripeEvent('checkout.session.completed', paid))).events;
    expect(fetched).toEqual({ ...delivered, paidAt: expect.any(Date) });
    expect(await stripeProvider.fetchCheckout('cs_open')).toEqual([]);
    expect(standIn.requests[0]).toMatchObject({ method: 'GET', path: '/v1/checkout/sessions/cs_paid', query: { 'expand[0]': 'invoice' } });
  });

  it("the success page reads a subscription checkout's paid invoice as the same event invoice.paid gives", async () => {
    const invoice = invoiceObject({
      billingReason: 'subscription_create',
      subscriptionId: 'sub_f',
      metadata: { userId, productId: 'pro-monthly' },
      lines: [{ priceProductId: 'pro-monthly', amount: 1_900, start: periodStart, end: periodEnd }],
      paidAt: at('2026-05-31T15:00:05Z'),
    });
    standIn.checkoutSessions.set(
      'cs_sub',
      checkoutSessionObject({ id: 'cs_sub', userId, productId: 'pro-monthly', mode: 'subscription', invoice }),
    );
    standIn.checkoutSessions.set(
      'cs_sub_open',
      checkoutSessionObject({
        id: 'cs_sub_open',
        userId,
        productId: 'pro-monthly',
        mode: 'subscription',
        invoice: { ...invoice, status: 'open' },
      }),
    );
    const fetched = await stripeProvider.fetchCheckout('cs_sub');
    expect(fetched).toEqual((await deliver(stripeEvent('invoice.paid', invoice))).events);
    expect(fetched).toHaveLength(1);
    expect(await stripeProvider.fetchCheckout('cs_sub_open')).toEqual([]);
  });

  it('the customer portal is a billing portal session for the customer', async () => {
    const url = await stripeProvider.customerPortalUrl({ customerId: 'cus_portal', returnUrl: 'http://localhost:3000/billing' });
    expect(url).toMatch(/^https:\/\/billing\.stripe\.test\/p\/session\/bps_/);
    expect(standIn.requests[0]).toMatchObject({
      method: 'POST',
      path: '/v1/billing_portal/sessions',
      form: { customer: 'cus_portal', return_url: 'http://localhost:3000/billing' },
    });
  });

  it('cancel at period end (and taking it back) updates the subscription and answers its new state', async () => {
    standIn.subscriptions.set(
      'sub_cancel',
      subscriptionObject({
        id: 'sub_cancel',
        status: 'active',
        productId: 'pro-monthly',
        metadata: { userId },
        start: periodStart,
        end: periodEnd,
      }),
    );
    const [canceling] = await stripeProvider.setCancelAtPeriodEnd('sub_cancel', true);
    expect(canceling).toMatchObject({
      type: 'subscription_state_changed',
      subscriptionId: 'sub_cancel',
      status: 'active',
      cancelAtPeriodEnd: true,
      currentPeriodEnd: periodEnd,
    });
    const [resumed] = await stripeProvider.setCancelAtPeriodEnd('sub_cancel', false);
    expect(resumed).toMatchObject({ cancelAtPeriodEnd: false });
    expect(standIn.requests.map((sent) => [sent.method, sent.path, sent.form.cancel_at_period_end])).toEqual([
      ['POST', '/v1/subscriptions/sub_cancel', 'true'],
      ['POST', '/v1/subscriptions/sub_cancel', 'false'],
    ]);
  });
});
