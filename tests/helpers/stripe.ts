import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, vi } from 'vitest';
import { creditsConfig } from '@/config/credits';
import { providerProductEnvName, resetEnvCache } from '@/env';

// Stripe for tests: the keys and price ids in the environment, signed webhook deliveries, payloads
// shaped as Stripe sends them (API 2025-03-31.basil and later), and a local HTTP stand-in of the
// few API endpoints the adapter calls (the tests have no network), which records what it was sent.

export const STRIPE_TEST_WEBHOOK_SECRET = 'whsec_test_0123456789abcdef0123456789abcdef';
export const STRIPE_TEST_SECRET_KEY = 'sk_test_standin_0123456789';

/** The Stripe price id the tests give a product of src/config (STRIPE_PRICE_<ID>). */
export const stripePriceOf = (productId: string) => `price_${productId.replace(/[^a-z0-9]+/gi, '_')}`;

/** Sets the Stripe keys and every product's price id (and the stand-in's address) until `vi.unstubAllEnvs()`. */
export function stubStripeEnv(options: { apiUrl?: string } = {}) {
  vi.stubEnv('STRIPE_SECRET_KEY', STRIPE_TEST_SECRET_KEY);
  vi.stubEnv('STRIPE_WEBHOOK_SECRET', STRIPE_TEST_WEBHOOK_SECRET);
  if (options.apiUrl) vi.stubEnv('STRIPE_API_URL', options.apiUrl);
  for (const product of [...creditsConfig.plans, ...creditsConfig.packs]) {
    vi.stubEnv(providerProductEnvName('stripe', product.id), stripePriceOf(product.id));
  }
  resetEnvCache();
}

export function unstubStripeEnv() {
  vi.unstubAllEnvs();
  resetEnvCache();
}

/**
 * A stand-in of Stripe's API for the file (or describe block) and Stripe's keys pointing at it:
 * started before its first test, stopped after its last.
 */
export function setupStripeStandIn(): StripeStandIn {
  let standIn: StripeStandIn | undefined;
  beforeAll(async () => {
    standIn = await startStripeStandIn();
    stubStripeEnv({ apiUrl: standIn.url });
  });
  afterAll(async () => {
    unstubStripeEnv();
    await standIn?.close();
  });
  return new Proxy({} as StripeStandIn, {
    get(_, property) {
      if (!standIn) throw new Error('setupStripeStandIn: the stand-in runs only inside tests and hooks');
      return standIn[property as keyof StripeStandIn];
    },
  });
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
const uid = () => randomUUID().replaceAll('-', '').slice(0, 16);

// ---------------------------------------------------------------------------------------------
// Webhook deliveries

export function stripeEvent(type: string, object: object, options: { id?: string; created?: Date } = {}) {
  return {
    id: options.id ?? `evt_${uid()}`,
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: seconds(options.created ?? new Date()),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  };
}

/** The `Stripe-Signature` header Stripe would send for this body (now, unless told otherwise). */
export function stripeSignature(body: string, options: { secret?: string; timestamp?: Date } = {}) {
  return Stripe.webhooks.generateTestHeaderString({
    payload: body,
    secret: options.secret ?? STRIPE_TEST_WEBHOOK_SECRET,
    ...(options.timestamp && { timestamp: seconds(options.timestamp) }),
  });
}

/** A delivery to the webhook route: the event (or a raw body) signed as Stripe signs it; `signature: null` sends none. */
export function stripeWebhookRequest(
  eventOrBody: object | string,
  options: { secret?: string; timestamp?: Date; signature?: string | null } = {},
): Request {
  const body = typeof eventOrBody === 'string' ? eventOrBody : JSON.stringify(eventOrBody);
  const signature = options.signature === undefined ? stripeSignature(body, options) : options.signature;
  return new Request('http://localhost:3000/api/webhooks/stripe', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature !== null && { 'stripe-signature': signature }) },
    body,
  });
}

// ---------------------------------------------------------------------------------------------
// Payloads

type Buyer = { userId: string; productId: string };

export function checkoutSessionObject(
  params: Buyer & {
    id?: string;
    mode?: 'payment' | 'subscription';
    paymentStatus?: 'paid' | 'unpaid' | 'no_payment_required';
    amount?: number;
    paymentIntent?: string | null;
    customer?: string | null;
    subscription?: string | null;
    invoice?: string | object | null;
    metadata?: Record<string, string>;
  },
) {
  const mode = params.mode ?? 'payment';
  return {
    id: params.id ?? `cs_test_${uid()}`,
    object: 'checkout.session',
    mode,
    status: params.paymentStatus === 'unpaid' ? 'open' : 'complete',
    payment_status: params.paymentStatus ?? 'paid',
    amount_total: params.amount ?? 500,
    currency: 'usd',
    client_reference_id: params.userId,
    customer: params.customer === undefined ? `cus_${uid()}` : params.customer,
    customer_email: null,
    metadata: params.metadata ?? { userId: params.userId, productId: params.productId, orderId: `order-${uid()}` },
    payment_intent: mode === 'payment' ? (params.paymentIntent === undefined ? `pi_${uid()}` : params.paymentIntent) : null,
    subscription: mode === 'subscription' ? (params.subscription ?? `sub_${uid()}`) : null,
    invoice: params.invoice ?? null,
    url: null,
    created: seconds(new Date()),
  };
}

type InvoiceLine = { priceProductId: string; amount: number; start: Date; end: Date; proration?: boolean };

function invoiceLine(line: InvoiceLine, subscriptionId: string) {
  return {
    id: `il_${uid()}`,
    object: 'line_item',
    amount: line.amount,
    currency: 'usd',
    parent: {
      type: 'subscription_item_details',
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: line.proration ? `ii_${uid()}` : null,
        proration: Boolean(line.proration),
        proration_details: null,
        subscription: subscriptionId,
        subscription_item: `si_${uid()}`,
      },
    },
    period: { start: seconds(line.start), end: seconds(line.end) },
    pricing: {
      type: 'price_details',
      price_details: { price: stripePriceOf(line.priceProductId), product: `prod_${line.priceProductId}` },
      unit_amount_decimal: String(line.amount),
    },
    quantity: 1,
  };
}

export function invoiceObject(params: {
  id?: string;
  billingReason: string;
  subscriptionId: string;
  /** The subscription's metadata snapshot; null: none. */
  metadata?: Record<string, string> | null;
  lines: InvoiceLine[];
  amountPaid?: number;
  status?: 'paid' | 'open' | 'draft';
  paidAt?: Date | null;
  customer?: string;
  paymentIntent?: string | null;
}) {
  const status = params.status ?? 'paid';
  const paymentIntent = params.paymentIntent ?? null;
  return {
    id: params.id ?? `in_${uid()}`,
    object: 'invoice',
    billing_reason: params.billingReason,
    status,
    amount_paid: params.amountPaid ?? (status === 'paid' ? params.lines.reduce((sum, line) => sum + line.amount, 0) : 0),
    currency: 'usd',
    customer: params.customer ?? `cus_${uid()}`,
    parent: {
      type: 'subscription_details',
      quote_details: null,
      subscription_details: { subscription: params.subscriptionId, metadata: params.metadata === undefined ? {} : params.metadata },
    },
    lines: {
      object: 'list',
      data: params.lines.map((line) => invoiceLine(line, params.subscriptionId)),
      has_more: false,
      url: '/v1/invoices/lines',
    },
    // A renewal's own period is the previous one: the adapter must read the period from the line.
    period_start: seconds(params.lines[0]!.start) - 86_400 * 30,
    period_end: seconds(params.lines[0]!.start),
    status_transitions: {
      finalized_at: null,
      marked_uncollectible_at: null,
      paid_at: params.paidAt ? seconds(params.paidAt) : null,
      voided_at: null,
    },
    ...(paymentIntent && {
      payments: {
        object: 'list',
        data: [
          {
            id: `inpay_${uid()}`,
            object: 'invoice_payment',
            status: 'paid',
            payment: { type: 'payment_intent', payment_intent: paymentIntent },
          },
        ],
        has_more: false,
      },
    }),
  };
}

export function subscriptionObject(params: {
  id: string;
  status: string;
  productId: string;
  metadata?: Record<string, string>;
  cancelAtPeriodEnd?: boolean;
  cancelAt?: Date | null;
  start: Date;
  end: Date;
  endedAt?: Date | null;
  customer?: string;
}) {
  return {
    id: params.id,
    object: 'subscription',
    status: params.status,
    customer: params.customer ?? `cus_${uid()}`,
    metadata: params.metadata ?? {},
    cancel_at_period_end: params.cancelAtPeriodEnd ?? false,
    cancel_at: params.cancelAt ? seconds(params.cancelAt) : null,
    ended_at: params.endedAt ? seconds(params.endedAt) : null,
    items: {
      object: 'list',
      data: [
        {
          id: `si_${uid()}`,
          object: 'subscription_item',
          current_period_start: seconds(params.start),
          current_period_end: seconds(params.end),
          price: { id: stripePriceOf(params.productId), object: 'price' },
          subscription: params.id,
        },
      ],
      has_more: false,
    },
  };
}

export function refundObject(params: {
  id?: string;
  paymentIntent: string | null;
  charge: string | null;
  amount: number;
  status?: string;
  created?: Date;
}) {
  return {
    id: params.id ?? `re_${uid()}`,
    object: 'refund',
    amount: params.amount,
    currency: 'usd',
    charge: params.charge,
    payment_intent: params.paymentIntent,
    status: params.status ?? 'succeeded',
    created: seconds(params.created ?? new Date()),
  };
}

export function chargeObject(params: { id: string; paymentIntent: string; refunds?: object[] }) {
  return {
    id: params.id,
    object: 'charge',
    payment_intent: params.paymentIntent,
    refunded: true,
    ...(params.refunds && { refunds: { object: 'list', data: params.refunds, has_more: false } }),
  };
}

export function disputeObject(params: { id?: string; charge: string; paymentIntent: string; amount: number; created?: Date }) {
  return {
    id: params.id ?? `dp_${uid()}`,
    object: 'dispute',
    amount: params.amount,
    currency: 'usd',
    charge: params.charge,
    payment_intent: params.paymentIntent,
    status: 'needs_response',
    created: seconds(params.created ?? new Date()),
  };
}

// ---------------------------------------------------------------------------------------------
// The API stand-in

export type RecordedStripeRequest = {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The form-encoded body, flat as Stripe's SDK encodes it: `metadata[userId]`, `line_items[0][price]`. */
  form: Record<string, string>;
};

export type StripeStandIn = {
  url: string;
  requests: RecordedStripeRequest[];
  /** What GET /v1/checkout/sessions/:id answers. */
  checkoutSessions: Map<string, object>;
  /** What POST /v1/subscriptions/:id updates and answers. */
  subscriptions: Map<string, Record<string, unknown>>;
  /** The invoice payments GET /v1/invoice_payments filters by `payment[payment_intent]`. */
  invoicePayments: { invoice: string; paymentIntent: string }[];
  /** What GET /v1/refunds?charge= answers. */
  refundsByCharge: Map<string, object[]>;
  close(): Promise<void>;
};

const list = (url: string, data: object[]) => ({ object: 'list', url, has_more: false, data });
const notFound = (message: string) => ({ status: 404, body: { error: { type: 'invalid_request_error', message } } });

export async function startStripeStandIn(): Promise<StripeStandIn> {
  const state: Omit<StripeStandIn, 'url' | 'close'> = {
    requests: [],
    checkoutSessions: new Map(),
    subscriptions: new Map(),
    invoicePayments: [],
    refundsByCharge: new Map(),
  };

  function answer(request: RecordedStripeRequest): { status: number; body: object } {
    const { method, path, query, form } = request;
    let match: RegExpMatchArray | null;
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const id = `cs_test_${uid()}`;
      const session = { id, object: 'checkout.session', mode: form.mode, url: `https://checkout.stripe.test/c/pay/${id}`, status: 'open' };
      return { status: 200, body: session };
    }
    if (method === 'GET' && (match = path.match(/^\/v1\/checkout\/sessions\/([^/]+)$/))) {
      const session = state.checkoutSessions.get(match[1]!);
      return session ? { status: 200, body: session } : notFound(`No such checkout.session: '${match[1]}'`);
    }
    if (method === 'POST' && path === '/v1/billing_portal/sessions') {
      const id = `bps_${uid()}`;
      return {
        status: 200,
        body: {
          id,
          object: 'billing_portal.session',
          customer: form.customer,
          return_url: form.return_url,
          url: `https://billing.stripe.test/p/session/${id}`,
        },
      };
    }
    if (method === 'POST' && (match = path.match(/^\/v1\/subscriptions\/([^/]+)$/))) {
      const subscription = state.subscriptions.get(match[1]!);
      if (!subscription) return notFound(`No such subscription: '${match[1]}'`);
      if (form.cancel_at_period_end !== undefined) subscription.cancel_at_period_end = form.cancel_at_period_end === 'true';
      return { status: 200, body: subscription };
    }
    if (method === 'GET' && path === '/v1/invoice_payments') {
      const paymentIntent = query['payment[payment_intent]'];
      const payments = state.invoicePayments
        .filter((payment) => payment.paymentIntent === paymentIntent)
        .map((payment) => ({
          id: `inpay_${uid()}`,
          object: 'invoice_payment',
          invoice: payment.invoice,
          status: 'paid',
          payment: { type: 'payment_intent', payment_intent: payment.paymentIntent },
        }));
      return { status: 200, body: list('/v1/invoice_payments', payments) };
    }
    if (method === 'GET' && path === '/v1/refunds') {
      return { status: 200, body: list('/v1/refunds', state.refundsByCharge.get(query.charge ?? '') ?? []) };
    }
    return notFound(`Unrecognized request URL (${method}: ${path}) in the test stand-in`);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const recorded: RecordedStripeRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        form: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
      };
      state.requests.push(recorded);
      const { status, body } = answer(recorded);
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${uid()}` });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...state,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
