import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { resetEnvCache } from '@/env';

// Creem as the tests see it: signed deliveries shaped like the examples of docs.creem.io ("Webhooks"),
// and a local HTTP stand-in of the API endpoints the adapter calls.

export const CREEM_TEST_SECRET = 'whsec_creem_test_secret_0123456789';
export const CREEM_TEST_KEY = 'creem_test_key_0123456789';

/** Sets these variables (undefined: unset) for the file or `describe` block, and puts the old ones back after. */
export function setupEnv(vars: Record<string, string | undefined>) {
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const [name, value] of Object.entries(vars)) {
      saved[name] = process.env[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    resetEnvCache();
  });
  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    resetEnvCache();
  });
}

/** What Creem puts in the `creem-signature` header: HMAC-SHA256 of the raw body, hex. */
export function signCreem(body: string, secret = CREEM_TEST_SECRET): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}

export function creemDelivery(params: { id: string; eventType: string; object: unknown; createdAt?: Date }): string {
  return JSON.stringify({
    id: params.id,
    eventType: params.eventType,
    created_at: (params.createdAt ?? new Date('2026-03-10T12:00:00Z')).getTime(),
    object: params.object,
  });
}

/** The request the route receives for a delivery: signed with `secret`, or unsigned when it is null. */
export function creemWebhookRequest(body: string, options: { secret?: string | null; signature?: string } = {}): Request {
  const headers = new Headers({ 'content-type': 'application/json' });
  const secret = options.secret === undefined ? CREEM_TEST_SECRET : options.secret;
  const signature = options.signature ?? (secret === null ? undefined : signCreem(body, secret));
  if (signature !== undefined) headers.set('creem-signature', signature);
  return new Request('http://localhost/api/webhooks/creem', { method: 'POST', headers, body });
}

const customer = (id = 'cust_1OcIK1GEuVvXZwD19tjq2z') => ({
  id,
  object: 'customer',
  email: 'customer@emaildomain',
  name: 'Tester Test',
  country: 'NL',
  created_at: '2024-10-11T09:16:48.557Z',
  updated_at: '2024-10-11T09:16:48.557Z',
  mode: 'test',
});

export const creemProductObject = (params: { id: string; price: number; billingType: 'onetime' | 'recurring'; period?: string }) => ({
  id: params.id,
  object: 'product',
  name: params.id,
  description: params.id,
  image_url: null,
  price: params.price,
  currency: 'USD',
  billing_type: params.billingType,
  billing_period: params.period ?? (params.billingType === 'recurring' ? 'every-month' : 'once'),
  status: 'active',
  tax_mode: 'exclusive',
  tax_category: 'saas',
  default_success_url: '',
  created_at: '2024-10-11T11:50:00.182Z',
  updated_at: '2024-10-11T11:50:00.182Z',
  mode: 'test',
});

/** A completed checkout whose order is paid (a one-time product unless `recurring`), like Creem's `checkout.completed` example. */
export function creemCheckoutObject(params: {
  checkoutId?: string;
  orderId: string;
  transactionId?: string | null;
  creemProductId: string;
  metadata?: Record<string, string>;
  amount?: number;
  amountPaid?: number;
  recurring?: boolean;
  status?: string;
  orderStatus?: string;
}) {
  const recurring = params.recurring ?? false;
  return {
    id: params.checkoutId ?? `ch_${params.orderId}`,
    object: 'checkout',
    request_id: params.metadata?.orderId ?? 'my-request-id',
    order: {
      id: params.orderId,
      object: 'order',
      customer: 'cust_1OcIK1GEuVvXZwD19tjq2z',
      product: params.creemProductId,
      ...(params.transactionId === null ? {} : { transaction: params.transactionId ?? `tran_${params.orderId}` }),
      amount: params.amount ?? 500,
      sub_total: params.amount ?? 500,
      tax_amount: (params.amountPaid ?? params.amount ?? 500) - (params.amount ?? 500),
      amount_due: params.amountPaid ?? params.amount ?? 500,
      amount_paid: params.amountPaid ?? params.amount ?? 500,
      currency: 'USD',
      status: params.orderStatus ?? 'paid',
      type: recurring ? 'recurring' : 'onetime',
      created_at: '2026-03-10T11:58:33.097Z',
      updated_at: '2026-03-10T11:58:40.000Z',
      mode: 'test',
    },
    product: creemProductObject({
      id: params.creemProductId,
      price: params.amount ?? 500,
      billingType: recurring ? 'recurring' : 'onetime',
    }),
    customer: customer(),
    ...(recurring
      ? {
          subscription: {
            id: 'sub_6pC2lNB6joCRQIZ1aMrTpi',
            object: 'subscription',
            product: params.creemProductId,
            customer: 'cust_1OcIK1GEuVvXZwD19tjq2z',
            collection_method: 'charge_automatically',
            status: 'active',
            canceled_at: null,
            created_at: '2026-03-10T11:58:45.425Z',
            updated_at: '2026-03-10T11:58:45.425Z',
            metadata: params.metadata ?? {},
            mode: 'test',
          },
        }
      : {}),
    custom_fields: [],
    status: params.status ?? 'completed',
    metadata: params.metadata ?? {},
    mode: 'test',
  };
}

/** A subscription object as `subscription.*` events carry it (product and customer expanded). */
export function creemSubscriptionObject(params: {
  subscriptionId?: string;
  creemProductId: string;
  price?: number;
  status?: string;
  metadata?: Record<string, string>;
  lastTransactionId?: string;
  lastTransaction?: Record<string, unknown>;
  periodStart?: string;
  periodEnd?: string;
  canceledAt?: string | null;
  period?: string;
}) {
  return {
    id: params.subscriptionId ?? 'sub_6pC2lNB6joCRQIZ1aMrTpi',
    object: 'subscription',
    product: creemProductObject({
      id: params.creemProductId,
      price: params.price ?? 1900,
      billingType: 'recurring',
      period: params.period,
    }),
    customer: customer(),
    collection_method: 'charge_automatically',
    status: params.status ?? 'active',
    last_transaction_id: params.lastTransactionId ?? 'tran_5yMaWzAl3jxuGJMCOrYWwk',
    ...(params.lastTransaction ? { last_transaction: params.lastTransaction } : {}),
    last_transaction_date: '2026-03-10T11:58:47.109Z',
    next_transaction_date: params.periodEnd ?? '2026-04-10T11:58:38.000Z',
    current_period_start_date: params.periodStart ?? '2026-03-10T11:58:38.000Z',
    current_period_end_date: params.periodEnd ?? '2026-04-10T11:58:38.000Z',
    canceled_at: params.canceledAt ?? null,
    created_at: '2026-03-10T11:58:45.425Z',
    updated_at: '2026-03-10T11:58:45.425Z',
    metadata: params.metadata ?? {},
    mode: 'test',
  };
}

/** The transaction of a refund or dispute, like Creem's `refund.created` example. */
const creemTransactionObject = (params: { transactionId: string; orderId: string; amount: number; amountPaid: number }) => ({
  id: params.transactionId,
  object: 'transaction',
  amount: params.amount,
  amount_paid: params.amountPaid,
  currency: 'USD',
  type: 'payment',
  tax_country: 'NL',
  tax_amount: params.amountPaid - params.amount,
  status: 'refunded',
  refunded_amount: params.amountPaid,
  order: params.orderId,
  description: 'Payment',
  created_at: 1773143927109,
  mode: 'test',
});

export function creemRefundObject(params: {
  refundId: string;
  transactionId: string;
  orderId: string;
  refundAmount: number;
  status?: string;
  /** The refunded transaction: charged before tax, and paid (what refunds are in); 500 each unless given. */
  amount?: number;
  amountPaid?: number;
}) {
  return {
    id: params.refundId,
    object: 'refund',
    status: params.status ?? 'succeeded',
    refund_amount: params.refundAmount,
    refund_currency: 'USD',
    reason: 'requested_by_customer',
    transaction: creemTransactionObject({ amount: 500, amountPaid: 500, ...params }),
    checkout: { id: `ch_${params.orderId}`, object: 'checkout', status: 'completed', mode: 'test' },
    order: {
      id: params.orderId,
      object: 'order',
      product: 'prod_x',
      amount: 500,
      currency: 'USD',
      status: 'paid',
      type: 'onetime',
      mode: 'test',
    },
    customer: customer(),
    created_at: 1773144000000,
    mode: 'test',
  };
}

export function creemDisputeObject(params: { disputeId: string; transactionId: string; orderId: string; amount: number }) {
  return {
    id: params.disputeId,
    object: 'dispute',
    amount: params.amount,
    currency: 'USD',
    transaction: { ...creemTransactionObject({ ...params, amountPaid: params.amount }), status: 'chargeback' },
    order: { id: params.orderId, object: 'order', product: 'prod_x', amount: params.amount, currency: 'USD', status: 'paid', mode: 'test' },
    customer: customer(),
    created_at: 1773144100000,
    mode: 'test',
  };
}

export type RecordedRequest = { method: string; path: string; query: URLSearchParams; headers: IncomingMessage['headers']; body: unknown };
type Answer = { status?: number; body: unknown };

/**
 * Creem's API on 127.0.0.1: each `METHOD /path` answers what `answers` says (404 otherwise), and every
 * request is recorded so a test can assert the path, the `x-api-key` header and the body.
 */
export async function startCreemStandIn(answers: Record<string, (request: RecordedRequest) => Answer>) {
  const requests: RecordedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const raw = Buffer.concat(chunks).toString('utf8');
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: raw ? JSON.parse(raw) : undefined,
      };
      requests.push(recorded);
      const answer = answers[`${recorded.method} ${recorded.path}`]?.(recorded) ?? { status: 404, body: { message: 'Not found' } };
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
