import { timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { creditsConfig, findProduct, type Product } from '@/config/credits';
import { resetEnvCache } from '@/env';
import { creemProvider } from '@/lib/server/payments/creem';
import { CREEM_LIVE_API, CREEM_TEST_API, CreemApiError, creemApiBase } from '@/lib/server/payments/creem-api';
import { UnattributedCreemPaymentError } from '@/lib/server/payments/creem-events';
import { PaymentsNotConfiguredError, WebhookSignatureError } from '@/lib/server/payments/provider';
import {
  CREEM_TEST_KEY,
  CREEM_TEST_SECRET,
  creemCheckoutObject,
  creemDelivery,
  creemDisputeObject,
  creemRefundObject,
  creemSubscriptionObject,
  signCreem,
  startCreemStandIn,
  setupEnv,
  type RecordedRequest,
} from '@tests/helpers/creem';

// The comparison is observed, not replaced: the spy calls Node's own timingSafeEqual.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});
const constantTimeEqual = vi.mocked(timingSafeEqual);

const PACK_PRODUCT = 'prod_pack500';
const MONTHLY_PRODUCT = 'prod_pro_monthly';
const YEARLY_PRODUCT = 'prod_pro_yearly';
const STARTER_PRODUCT = 'prod_starter_monthly';

setupEnv({
  CREEM_API_KEY: CREEM_TEST_KEY,
  CREEM_WEBHOOK_SECRET: CREEM_TEST_SECRET,
  CREEM_API_URL: undefined,
  CREEM_PRODUCT_PACK_500: PACK_PRODUCT,
  CREEM_PRODUCT_PRO_MONTHLY: MONTHLY_PRODUCT,
  CREEM_PRODUCT_PRO_YEARLY: YEARLY_PRODUCT,
  CREEM_PRODUCT_STARTER_MONTHLY: STARTER_PRODUCT,
});

const buyer = { userId: 'user-1', productId: 'pack-500', orderId: 'order-1' };
const subscriber = { userId: 'user-2', productId: 'pro-monthly', orderId: 'order-2' };
const eventAt = new Date('2026-03-10T12:00:00Z');

function signed(body: string, secret = CREEM_TEST_SECRET) {
  return new Headers({ 'creem-signature': signCreem(body, secret) });
}

async function normalize(eventType: string, object: unknown) {
  const body = creemDelivery({ id: `evt_${eventType}`, eventType, object, createdAt: eventAt });
  return creemProvider.verifyWebhook(body, signed(body));
}

describe('creemProvider configuration', () => {
  describe('without keys', () => {
    setupEnv({ CREEM_API_KEY: undefined, CREEM_WEBHOOK_SECRET: undefined });

    test('lists both variables as missing, and its methods refuse instead of calling Creem', async () => {
      expect(creemProvider.missingConfiguration()).toEqual(['CREEM_API_KEY', 'CREEM_WEBHOOK_SECRET']);
      await expect(creemProvider.fetchCheckout('ch_1')).rejects.toBeInstanceOf(PaymentsNotConfiguredError);
      await expect(creemProvider.verifyWebhook('{}', new Headers())).rejects.toBeInstanceOf(PaymentsNotConfiguredError);
    });
  });

  test('with both set, nothing is missing', () => {
    expect(creemProvider.missingConfiguration()).toEqual([]);
  });

  describe('the API host follows the key when CREEM_API_URL is unset', () => {
    describe('a live key', () => {
      setupEnv({ CREEM_API_KEY: 'creem_live_key_0123456789' });
      test('goes to the live API', () => expect(creemApiBase()).toBe(CREEM_LIVE_API));
    });
    test('a creem_test_ key goes to the test API', () => expect(creemApiBase()).toBe(CREEM_TEST_API));
    describe('CREEM_API_URL', () => {
      setupEnv({ CREEM_API_URL: 'http://127.0.0.1:9/' });
      test('wins over the key', () => expect(creemApiBase()).toBe('http://127.0.0.1:9'));
    });
  });
});

describe('verifyWebhook refuses a delivery whose signature does not match', () => {
  const body = creemDelivery({ id: 'evt_1', eventType: 'customer.created', object: { id: 'cust_1' } });

  beforeEach(() => {
    constantTimeEqual.mockClear();
  });

  test.each([
    ['no creem-signature header', new Headers()],
    ['an empty header', new Headers({ 'creem-signature': '' })],
    ['a signature made with another secret', signed(body, 'whsec_someone_else_0123456789')],
    ['a signature of another body', signed(body.replace('evt_1', 'evt_2'))],
    ['the signature in upper case with a trailing character', new Headers({ 'creem-signature': `${signCreem(body)}0` })],
    ['a truncated signature', new Headers({ 'creem-signature': signCreem(body).slice(0, 63) })],
    ['the signature as base64', new Headers({ 'creem-signature': Buffer.from(signCreem(body), 'hex').toString('base64') })],
  ])('%s', async (_name, headers) => {
    await expect(creemProvider.verifyWebhook(body, headers)).rejects.toBeInstanceOf(WebhookSignatureError);
    // Every check, malformed headers included, is one constant-time comparison of two 32-byte digests.
    expect(constantTimeEqual).toHaveBeenCalledTimes(1);
    const [expected, given] = constantTimeEqual.mock.calls[0]!;
    expect([(expected as Buffer).length, (given as Buffer).length]).toEqual([32, 32]);
  });

  test('a tampered body fails even with the original signature', async () => {
    const headers = signed(body);
    await expect(creemProvider.verifyWebhook(body.replace('customer.created', 'refund.created'), headers)).rejects.toBeInstanceOf(
      WebhookSignatureError,
    );
  });

  test('the signature of the exact body is accepted, through the constant-time comparison', async () => {
    await expect(creemProvider.verifyWebhook(body, signed(body))).resolves.toMatchObject({ provider: 'creem', eventId: 'evt_1' });
    expect(constantTimeEqual).toHaveBeenCalledTimes(1);
  });
});

describe('verifyWebhook normalizes Creem events', () => {
  test('a paid one-time checkout is a one-time payment: the order is the payment, its transaction the charge, the metadata the buyer', async () => {
    const object = creemCheckoutObject({
      orderId: 'ord_4aDwWXjMLpes4Kj4XqNnUA',
      transactionId: 'tran_1',
      creemProductId: PACK_PRODUCT,
      amount: 500,
      amountPaid: 605,
      metadata: buyer,
    });
    const webhook = await normalize('checkout.completed', object);
    expect(webhook).toEqual({
      provider: 'creem',
      eventId: 'evt_checkout.completed',
      eventType: 'checkout.completed',
      events: [
        {
          type: 'one_time_payment_succeeded',
          userId: 'user-1',
          productId: 'pack-500',
          customerId: 'cust_1OcIK1GEuVvXZwD19tjq2z',
          paymentId: 'ord_4aDwWXjMLpes4Kj4XqNnUA',
          chargeId: 'tran_1',
          // What the customer paid, tax included: refunds are expressed in it.
          amount: 605,
          currency: 'usd',
          paidAt: new Date('2026-03-10T11:58:40.000Z'),
        },
      ],
    });
  });

  test('without metadata.productId, the product comes from the CREEM_PRODUCT_<ID> that names Creem’s product', async () => {
    const object = creemCheckoutObject({ orderId: 'ord_2', creemProductId: PACK_PRODUCT, metadata: { userId: 'user-1' } });
    const { events } = await normalize('checkout.completed', object);
    expect(events).toMatchObject([{ type: 'one_time_payment_succeeded', productId: 'pack-500', userId: 'user-1' }]);
  });

  test('a Creem product with no CREEM_PRODUCT_<ID> is named by the checkout’s metadata.productId', async () => {
    const object = creemCheckoutObject({ orderId: 'ord_7', creemProductId: 'prod_not_in_env', metadata: buyer });
    expect((await normalize('checkout.completed', object)).events).toMatchObject([{ productId: 'pack-500' }]);
  });

  test('a subscription’s checkout gives nothing: subscription.paid pays its first period, keyed by its transaction', async () => {
    const object = creemCheckoutObject({ orderId: 'ord_3', creemProductId: MONTHLY_PRODUCT, metadata: subscriber, recurring: true });
    expect((await normalize('checkout.completed', object)).events).toEqual([]);
  });

  test.each([
    ['a checkout not completed', { status: 'pending' }],
    ['an order not paid', { orderStatus: 'pending' }],
  ])('%s gives nothing', async (_name, overrides) => {
    const object = creemCheckoutObject({ orderId: 'ord_4', creemProductId: PACK_PRODUCT, metadata: buyer, ...overrides });
    expect((await normalize('checkout.completed', object)).events).toEqual([]);
  });

  test('a product this app does not sell, with no metadata, is not ours: nothing', async () => {
    const object = creemCheckoutObject({ orderId: 'ord_5', creemProductId: 'prod_other_app' });
    expect((await normalize('checkout.completed', object)).events).toEqual([]);
  });

  test('a paid order of our product with no userId fails the delivery (Creem retries and shows it) instead of dropping the money', async () => {
    const object = creemCheckoutObject({ orderId: 'ord_6', creemProductId: PACK_PRODUCT, metadata: { productId: 'pack-500' } });
    await expect(normalize('checkout.completed', object)).rejects.toBeInstanceOf(UnattributedCreemPaymentError);
  });

  test('subscription.paid is the period paid: its transaction is the payment and the charge, its current period the period', async () => {
    const object = creemSubscriptionObject({ creemProductId: MONTHLY_PRODUCT, price: 1900, metadata: subscriber });
    expect((await normalize('subscription.paid', object)).events).toEqual([
      {
        type: 'subscription_period_paid',
        userId: 'user-2',
        productId: 'pro-monthly',
        customerId: 'cust_1OcIK1GEuVvXZwD19tjq2z',
        subscriptionId: 'sub_6pC2lNB6joCRQIZ1aMrTpi',
        paymentId: 'tran_5yMaWzAl3jxuGJMCOrYWwk',
        chargeId: 'tran_5yMaWzAl3jxuGJMCOrYWwk',
        amount: 1900,
        currency: 'usd',
        periodStart: new Date('2026-03-10T11:58:38.000Z'),
        periodEnd: new Date('2026-04-10T11:58:38.000Z'),
        paidAt: new Date('2026-03-10T11:58:47.109Z'),
      },
    ]);
  });

  test('subscription.paid with its last transaction embedded takes the amount paid and the period from the transaction', async () => {
    const object = creemSubscriptionObject({
      creemProductId: YEARLY_PRODUCT,
      period: 'every-year',
      metadata: { ...subscriber, productId: 'pro-yearly' },
      lastTransaction: {
        id: 'tran_year2',
        object: 'transaction',
        amount: 19000,
        amount_paid: 22990,
        currency: 'USD',
        type: 'invoice',
        status: 'paid',
        order: 'ord_year2',
        subscription: 'sub_6pC2lNB6joCRQIZ1aMrTpi',
        period_start: Date.parse('2027-03-10T11:58:38.000Z'),
        period_end: Date.parse('2028-03-10T11:58:38.000Z'),
        created_at: Date.parse('2027-03-10T11:59:00.000Z'),
        mode: 'test',
      },
    });
    expect((await normalize('subscription.paid', object)).events).toMatchObject([
      {
        productId: 'pro-yearly',
        paymentId: 'tran_year2',
        chargeId: 'tran_year2',
        amount: 22990,
        periodStart: new Date('2027-03-10T11:58:38.000Z'),
        periodEnd: new Date('2028-03-10T11:58:38.000Z'),
      },
    ]);
  });

  test.each([
    ['subscription.active', 'active', { status: 'active', cancelAtPeriodEnd: false }],
    ['subscription.update', 'active', { status: 'active', cancelAtPeriodEnd: false }],
    ['subscription.scheduled_cancel', 'scheduled_cancel', { status: 'active', cancelAtPeriodEnd: true }],
    ['subscription.past_due', 'past_due', { status: 'past_due', cancelAtPeriodEnd: false }],
    ['subscription.unpaid', 'unpaid', { status: 'past_due', cancelAtPeriodEnd: false }],
    // Creem's example of an expiry still says "active": the period ended unpaid while Creem retries.
    ['subscription.expired', 'active', { status: 'past_due', cancelAtPeriodEnd: false }],
  ])('%s (status %s) is the state %o, as of the event', async (eventType, status, state) => {
    const object = creemSubscriptionObject({ creemProductId: MONTHLY_PRODUCT, status, metadata: subscriber });
    expect((await normalize(eventType, object)).events).toEqual([
      {
        type: 'subscription_state_changed',
        subscriptionId: 'sub_6pC2lNB6joCRQIZ1aMrTpi',
        userId: 'user-2',
        productId: 'pro-monthly',
        customerId: 'cust_1OcIK1GEuVvXZwD19tjq2z',
        ...state,
        currentPeriodStart: new Date('2026-03-10T11:58:38.000Z'),
        currentPeriodEnd: new Date('2026-04-10T11:58:38.000Z'),
        asOf: eventAt,
      },
    ]);
  });

  test('after a plan change in Creem, the subscription’s product names the plan, not the metadata of its first checkout', async () => {
    const object = creemSubscriptionObject({ creemProductId: STARTER_PRODUCT, metadata: subscriber });
    expect((await normalize('subscription.update', object)).events).toMatchObject([{ productId: 'starter-monthly' }]);
    expect((await normalize('subscription.paid', object)).events).toMatchObject([{ productId: 'starter-monthly' }]);
  });

  test('subscription.canceled is Creem’s terminal state: the subscription ended when it was canceled', async () => {
    const object = creemSubscriptionObject({
      creemProductId: MONTHLY_PRODUCT,
      status: 'canceled',
      canceledAt: '2026-03-20T08:00:00.000Z',
      metadata: subscriber,
    });
    expect((await normalize('subscription.canceled', object)).events).toEqual([
      {
        type: 'subscription_ended',
        subscriptionId: 'sub_6pC2lNB6joCRQIZ1aMrTpi',
        endedAt: new Date('2026-03-20T08:00:00.000Z'),
        asOf: eventAt,
      },
    ]);
  });

  test.each([
    ['subscription.trialing', 'trialing'],
    ['subscription.paused', 'paused'],
  ])('%s says nothing about money: nothing', async (eventType, status) => {
    const object = creemSubscriptionObject({ creemProductId: MONTHLY_PRODUCT, status, metadata: subscriber });
    expect((await normalize(eventType, object)).events).toEqual([]);
  });

  test('refund.created takes back by the refund’s id, naming the transaction and the order', async () => {
    const object = creemRefundObject({
      refundId: 'ref_3DB9NQFvk18TJwSqd0N6bd',
      transactionId: 'tran_1',
      orderId: 'ord_1',
      refundAmount: 250,
    });
    expect((await normalize('refund.created', object)).events).toEqual([
      {
        type: 'payment_reversed',
        kind: 'refund',
        reversalId: 'ref_3DB9NQFvk18TJwSqd0N6bd',
        paymentRefs: ['tran_1', 'ord_1'],
        amount: 250,
        // What the refunded transaction collected: the share is measured against it.
        paymentAmount: 500,
        currency: 'usd',
        at: new Date(1773144000000),
      },
    ]);
  });

  test('a refund that failed gave nothing back: nothing', async () => {
    const object = creemRefundObject({ refundId: 'ref_2', transactionId: 'tran_1', orderId: 'ord_1', refundAmount: 250, status: 'failed' });
    expect((await normalize('refund.created', object)).events).toEqual([]);
  });

  test('dispute.created is a reversal of kind dispute for the disputed amount', async () => {
    const object = creemDisputeObject({
      disputeId: 'disp_6vSsOdTANP5PhOzuDlUuXE',
      transactionId: 'tran_4',
      orderId: 'ord_57',
      amount: 1331,
    });
    expect((await normalize('dispute.created', object)).events).toEqual([
      {
        type: 'payment_reversed',
        kind: 'dispute',
        reversalId: 'disp_6vSsOdTANP5PhOzuDlUuXE',
        paymentRefs: ['tran_4', 'ord_57'],
        amount: 1331,
        paymentAmount: 1331,
        currency: 'usd',
        at: new Date(1773144100000),
      },
    ]);
  });

  test('an event type the app does not act on keeps its id and type, with no events', async () => {
    expect(await normalize('customer.created', { id: 'cust_1' })).toEqual({
      provider: 'creem',
      eventId: 'evt_customer.created',
      eventType: 'customer.created',
      events: [],
    });
  });
});

describe('the API calls, against a local stand-in of Creem', () => {
  let creem: Awaited<ReturnType<typeof startCreemStandIn>>;
  const subscriptionAnswer = (status: string) => () => ({
    body: {
      ...creemSubscriptionObject({ creemProductId: MONTHLY_PRODUCT, status, metadata: subscriber }),
      updated_at: '2026-03-12T09:00:00.000Z',
    },
  });

  beforeAll(async () => {
    creem = await startCreemStandIn({
      'POST /v1/checkouts': () => ({
        body: { id: 'ch_new', object: 'checkout', status: 'pending', checkout_url: 'https://checkout.creem.io/ch_new' },
      }),
      'GET /v1/checkouts': ({ query }) =>
        query.get('checkout_id') === 'ch_paid'
          ? { body: creemCheckoutObject({ checkoutId: 'ch_paid', orderId: 'ord_paid', creemProductId: PACK_PRODUCT, metadata: buyer }) }
          : { body: { id: 'ch_open', object: 'checkout', status: 'pending', product: PACK_PRODUCT, metadata: buyer, mode: 'test' } },
      'POST /v1/customers/billing': () => ({ body: { customer_portal_link: 'https://creem.io/my-orders/login/xyz' } }),
      'POST /v1/subscriptions/sub_6pC2lNB6joCRQIZ1aMrTpi/cancel': subscriptionAnswer('scheduled_cancel'),
      'POST /v1/subscriptions/sub_6pC2lNB6joCRQIZ1aMrTpi/resume': subscriptionAnswer('active'),
      'POST /v1/subscriptions/sub_gone/resume': () => ({
        status: 400,
        body: { message: ['Subscription is not scheduled for cancellation'] },
      }),
    });
    process.env.CREEM_API_URL = creem.url;
    resetEnvCache();
  });
  afterAll(async () => {
    delete process.env.CREEM_API_URL;
    resetEnvCache();
    await creem.close();
  });
  beforeEach(() => {
    creem.requests.length = 0;
  });

  const only = (): RecordedRequest => {
    expect(creem.requests).toHaveLength(1);
    return creem.requests[0]!;
  };
  const pack = findProduct(creditsConfig, 'pack-500') as Product;

  test('createCheckout posts the product, the order as request_id, the buyer in metadata and the email, with the API key', async () => {
    const result = await creemProvider.createCheckout({
      orderId: 'order-1',
      userId: 'user-1',
      email: 'buyer@example.test',
      product: pack,
      customerId: null,
      successUrl: 'https://app.example/billing/success?order=order-1&checkout={CHECKOUT_ID}',
      cancelUrl: 'https://app.example/pricing',
    });
    expect(result).toEqual({ checkoutId: 'ch_new', url: 'https://checkout.creem.io/ch_new' });
    const request = only();
    expect([request.method, request.path, request.headers['x-api-key']]).toEqual(['POST', '/v1/checkouts', CREEM_TEST_KEY]);
    expect(request.body).toEqual({
      product_id: PACK_PRODUCT,
      request_id: 'order-1',
      units: 1,
      customer: { email: 'buyer@example.test' },
      // Creem appends checkout_id itself; the placeholder is not sent.
      success_url: 'https://app.example/billing/success?order=order-1',
      metadata: { userId: 'user-1', productId: 'pack-500', orderId: 'order-1' },
    });
  });

  test('createCheckout names a known customer by id, not by email', async () => {
    await creemProvider.createCheckout({
      orderId: 'order-9',
      userId: 'user-1',
      email: 'buyer@example.test',
      product: pack,
      customerId: 'cust_known',
      successUrl: 'https://app.example/billing/success',
      cancelUrl: 'https://app.example/pricing',
    });
    expect((only().body as { customer: unknown }).customer).toEqual({ id: 'cust_known' });
  });

  test('createCheckout of a product with no CREEM_PRODUCT_<ID> refuses, naming the variable, and calls nothing', async () => {
    const lifetime = findProduct(creditsConfig, 'lifetime') as Product;
    const call = creemProvider.createCheckout({
      orderId: 'order-3',
      userId: 'user-1',
      email: 'buyer@example.test',
      product: lifetime,
      customerId: null,
      successUrl: 'https://app.example/billing/success',
      cancelUrl: 'https://app.example/pricing',
    });
    await expect(call).rejects.toThrow(/CREEM_PRODUCT_LIFETIME/);
    expect(creem.requests).toHaveLength(0);
  });

  test('fetchCheckout of a paid checkout gives the same one-time payment the webhook gives', async () => {
    const events = await creemProvider.fetchCheckout('ch_paid');
    const request = only();
    expect([request.method, request.path, request.query.get('checkout_id'), request.headers['x-api-key']]).toEqual([
      'GET',
      '/v1/checkouts',
      'ch_paid',
      CREEM_TEST_KEY,
    ]);
    const body = creemDelivery({
      id: 'evt_same',
      eventType: 'checkout.completed',
      object: creemCheckoutObject({ checkoutId: 'ch_paid', orderId: 'ord_paid', creemProductId: PACK_PRODUCT, metadata: buyer }),
    });
    expect(events).toEqual((await creemProvider.verifyWebhook(body, signed(body))).events);
    expect(events).toMatchObject([{ type: 'one_time_payment_succeeded', paymentId: 'ord_paid' }]);
  });

  test('fetchCheckout of a checkout not yet paid gives nothing', async () => {
    expect(await creemProvider.fetchCheckout('ch_open')).toEqual([]);
  });

  test('customerPortalUrl asks Creem for the customer’s portal link', async () => {
    const url = await creemProvider.customerPortalUrl({ customerId: 'cust_1', returnUrl: 'https://app.example/billing' });
    expect(url).toBe('https://creem.io/my-orders/login/xyz');
    const request = only();
    expect([request.method, request.path, request.headers['x-api-key'], request.body]).toEqual([
      'POST',
      '/v1/customers/billing',
      CREEM_TEST_KEY,
      { customer_id: 'cust_1' },
    ]);
  });

  test('setCancelAtPeriodEnd(true) is a scheduled cancel, answered as an active subscription that stops at its period end', async () => {
    const events = await creemProvider.setCancelAtPeriodEnd('sub_6pC2lNB6joCRQIZ1aMrTpi', true);
    const request = only();
    expect([request.path, request.body]).toEqual([
      '/v1/subscriptions/sub_6pC2lNB6joCRQIZ1aMrTpi/cancel',
      { mode: 'scheduled', onExecute: 'cancel' },
    ]);
    expect(events).toMatchObject([
      { type: 'subscription_state_changed', status: 'active', cancelAtPeriodEnd: true, asOf: new Date('2026-03-12T09:00:00.000Z') },
    ]);
  });

  test('setCancelAtPeriodEnd(false) resumes the scheduled cancel', async () => {
    const events = await creemProvider.setCancelAtPeriodEnd('sub_6pC2lNB6joCRQIZ1aMrTpi', false);
    const request = only();
    expect([request.method, request.path, request.body]).toEqual([
      'POST',
      '/v1/subscriptions/sub_6pC2lNB6joCRQIZ1aMrTpi/resume',
      undefined,
    ]);
    expect(events).toMatchObject([{ type: 'subscription_state_changed', status: 'active', cancelAtPeriodEnd: false }]);
  });

  test('an error answer from Creem is thrown with its status and message', async () => {
    const call = creemProvider.setCancelAtPeriodEnd('sub_gone', false);
    await expect(call).rejects.toBeInstanceOf(CreemApiError);
    await expect(creemProvider.setCancelAtPeriodEnd('sub_gone', false)).rejects.toThrow(/400.*not scheduled for cancellation/);
  });
});
