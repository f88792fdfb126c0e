import 'server-only';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { env, providerProductEnvName, providerProductId } from '@/env';
import type { BillingEvent, VerifiedWebhook } from './events';
import type { CheckoutRequest, PaymentProvider } from './provider';
import { PaymentsNotConfiguredError, WebhookSignatureError } from './provider';
import { creemRequest } from './creem-api';
import { checkoutEvents, creemEventToBillingEvents, subscriptionStateEvents } from './creem-events';
import { creemCheckout, creemEnvelope, creemPortalLinks, creemSubscription } from './creem-payloads';

// The Creem adapter of docs/payments.md: webhooks verified with the `creem-signature` header, checkouts,
// the customer portal and cancels through Creem's REST API.

const SIGNATURE_HEADER = 'creem-signature';
const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * HMAC-SHA256 of the raw body with the webhook secret, hex, compared in constant time. Creem signs
 * no timestamp, so a captured delivery verifies forever: what keeps a replay from doing anything is
 * the event id, recorded once in `billing_events` (a replay answers `duplicate`), and the grant keys
 * below it (a payment is granted once whatever event names it).
 */
function signatureMatches(rawBody: string, signature: string | null, secret: string): boolean {
  const expected = createHmac('sha256', secret).update(rawBody, 'utf8').digest();
  const wellFormed = signature !== null && HEX_SHA256.test(signature);
  // Always one comparison of two 32-byte digests, so a malformed header takes the same path.
  const given = wellFormed ? Buffer.from(signature, 'hex') : Buffer.alloc(expected.length);
  return timingSafeEqual(expected, given) && wellFormed;
}

async function verifyWebhook(rawBody: string, headers: Headers): Promise<VerifiedWebhook> {
  const secret = env().CREEM_WEBHOOK_SECRET;
  if (!secret) throw new PaymentsNotConfiguredError('creem', ['CREEM_WEBHOOK_SECRET']);
  if (!signatureMatches(rawBody, headers.get(SIGNATURE_HEADER), secret)) {
    throw new WebhookSignatureError(`${SIGNATURE_HEADER} is missing or does not match the body`);
  }
  const envelope = creemEnvelope.parse(JSON.parse(rawBody));
  return {
    provider: 'creem',
    eventId: envelope.id,
    eventType: envelope.eventType,
    events: creemEventToBillingEvents(envelope.eventType, envelope.object, envelope.created_at),
  };
}

/**
 * Creem appends `checkout_id` (with order, customer, subscription and product ids and a signature) to
 * the success URL itself, so a `{CHECKOUT_ID}` placeholder is taken out rather than sent literally.
 */
function creemSuccessUrl(successUrl: string): string {
  const url = new URL(successUrl);
  for (const [name, value] of [...url.searchParams]) if (value.includes('{CHECKOUT_ID}')) url.searchParams.delete(name);
  return url.toString();
}

const createdCheckout = z.looseObject({ id: z.string().min(1), checkout_url: z.url() });

async function createCheckout(request: CheckoutRequest): Promise<{ checkoutId: string; url: string }> {
  const productId = request.product.kind === 'plan' ? request.product.plan.id : request.product.pack.id;
  const creemProductId = providerProductId('creem', productId);
  if (!creemProductId) throw new PaymentsNotConfiguredError('creem', [providerProductEnvName('creem', productId)]);
  // Creem has no idempotency key: `request_id` only tracks the order, so a retried call opens a second
  // checkout page. Harmless: only a paid checkout grants anything, and it is keyed by its order.
  const checkout = await creemRequest(createdCheckout, {
    method: 'POST',
    path: '/v1/checkouts',
    body: {
      product_id: creemProductId,
      request_id: request.orderId,
      units: 1,
      // Creem takes one of the two: the known customer keeps one customer (and portal) per user.
      customer: request.customerId ? { id: request.customerId } : { email: request.email },
      success_url: creemSuccessUrl(request.successUrl),
      metadata: { userId: request.userId, productId, orderId: request.orderId },
    },
  });
  return { checkoutId: checkout.id, url: checkout.checkout_url };
}

async function fetchCheckout(checkoutId: string): Promise<BillingEvent[]> {
  const checkout = await creemRequest(creemCheckout, { method: 'GET', path: '/v1/checkouts', query: { checkout_id: checkoutId } });
  return checkoutEvents(checkout, new Date());
}

async function customerPortalUrl(params: { customerId: string; returnUrl: string }): Promise<string> {
  // Creem's portal takes no return URL: the customer comes back with the browser's back button.
  const links = await creemRequest(creemPortalLinks, {
    method: 'POST',
    path: '/v1/customers/billing',
    body: { customer_id: params.customerId },
  });
  return links.customer_portal_link;
}

/**
 * Cancel at period end is Creem's scheduled cancel (status `scheduled_cancel`, `canceled` once the
 * period ends); taking it back is Creem's resume, which only a scheduled cancel (or a pause) allows.
 */
async function setCancelAtPeriodEnd(subscriptionId: string, cancel: boolean): Promise<BillingEvent[]> {
  const path = `/v1/subscriptions/${encodeURIComponent(subscriptionId)}/${cancel ? 'cancel' : 'resume'}`;
  const subscription = await creemRequest(creemSubscription, {
    method: 'POST',
    path,
    body: cancel ? { mode: 'scheduled', onExecute: 'cancel' } : undefined,
  });
  return subscriptionStateEvents(subscription, subscription.updated_at ?? new Date());
}

function missingConfiguration(): string[] {
  const { CREEM_API_KEY, CREEM_WEBHOOK_SECRET } = env();
  return [...(CREEM_API_KEY ? [] : ['CREEM_API_KEY']), ...(CREEM_WEBHOOK_SECRET ? [] : ['CREEM_WEBHOOK_SECRET'])];
}

export const creemProvider: PaymentProvider = {
  id: 'creem',
  missingConfiguration,
  verifyWebhook,
  createCheckout,
  fetchCheckout,
  customerPortalUrl,
  setCancelAtPeriodEnd,
};
