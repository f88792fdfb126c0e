import 'server-only';
import Stripe from 'stripe';
import { providerProductEnvName, providerProductId } from '@/env';
import type { CheckoutRequest, PaymentProvider } from './provider';
import { PaymentsNotConfiguredError, WebhookSignatureError } from './provider';
import { stripeClient, stripeMissingConfiguration, stripeWebhookSecret } from './stripe-client';
import {
  billingEventsOfStripeEvent,
  oneTimePaymentOfSession,
  paymentOfInvoice,
  subscriptionStateOf,
  type StripeLookups,
} from './stripe-events';

// The Stripe adapter of docs/payments.md: Checkout Sessions for purchases, the customer portal for
// self-service, webhooks (verified with the official package) for everything money does.

const lookups: StripeLookups = {
  async invoiceOfPaymentIntent(paymentIntent) {
    const payments = await stripeClient().invoicePayments.list({
      payment: { type: 'payment_intent', payment_intent: paymentIntent },
      limit: 1,
    });
    const invoice = payments.data[0]?.invoice;
    if (!invoice) return null;
    return typeof invoice === 'string' ? invoice : invoice.id;
  },
  async refundsOfCharge(charge) {
    const refunds: Stripe.Refund[] = [];
    for await (const refund of stripeClient().refunds.list({ charge, limit: 100 })) refunds.push(refund);
    return refunds;
  },
};

async function verifyWebhook(rawBody: string, headers: Headers) {
  const secret = stripeWebhookSecret();
  const signature = headers.get('stripe-signature');
  if (!signature) throw new WebhookSignatureError('missing stripe-signature header');
  let event: Stripe.Event;
  try {
    // Default tolerance: a signature timestamp more than 300 s from now is refused (replays).
    event = await Stripe.webhooks.constructEventAsync(rawBody, signature, secret);
  } catch (error) {
    throw new WebhookSignatureError(error instanceof Error ? error.message : 'invalid signature');
  }
  return {
    provider: 'stripe' as const,
    eventId: event.id,
    eventType: event.type,
    events: await billingEventsOfStripeEvent(event, lookups),
  };
}

/** Stripe substitutes `{CHECKOUT_SESSION_ID}` in the success URL; the app writes `{CHECKOUT_ID}`, possibly URL-encoded. */
function stripeSuccessUrl(successUrl: string): string {
  return successUrl.replaceAll('{CHECKOUT_ID}', '{CHECKOUT_SESSION_ID}').replaceAll('%7BCHECKOUT_ID%7D', '{CHECKOUT_SESSION_ID}');
}

async function createCheckout(request: CheckoutRequest) {
  const stripe = stripeClient();
  const productId = request.product.kind === 'plan' ? request.product.plan.id : request.product.pack.id;
  const price = providerProductId('stripe', productId);
  if (!price) throw new PaymentsNotConfiguredError('stripe', [providerProductEnvName('stripe', productId)]);
  const recurring = request.product.kind === 'plan' && request.product.plan.billing !== 'lifetime';
  const buyer = { userId: request.userId, productId };
  const session = await stripe.checkout.sessions.create(
    {
      mode: recurring ? 'subscription' : 'payment',
      line_items: [{ price, quantity: 1 }],
      client_reference_id: request.userId,
      metadata: { ...buyer, orderId: request.orderId },
      ...(request.customerId ? { customer: request.customerId } : { customer_email: request.email }),
      // The subscription carries who and what, so each invoice.paid names them without an API call.
      ...(recurring
        ? { subscription_data: { metadata: buyer } }
        : {
            payment_intent_data: { metadata: { ...buyer, orderId: request.orderId } },
            // A customer for one-time buyers too, so the billing portal can show them their receipts.
            ...(!request.customerId && { customer_creation: 'always' as const }),
          }),
      success_url: stripeSuccessUrl(request.successUrl),
      cancel_url: request.cancelUrl,
    },
    // A retried request for the same pending order gets the same session back instead of a second one.
    { idempotencyKey: request.orderId },
  );
  if (!session.url) throw new Error(`Stripe checkout session ${session.id} has no url`);
  return { checkoutId: session.id, url: session.url };
}

async function fetchCheckout(checkoutId: string) {
  const session = await stripeClient().checkout.sessions.retrieve(checkoutId, { expand: ['invoice'] });
  const now = new Date();
  if (session.mode === 'payment') return oneTimePaymentOfSession(session, now);
  if (session.mode === 'subscription' && session.invoice && typeof session.invoice !== 'string') {
    return paymentOfInvoice(session.invoice, { paidAtFallback: now, fallbackMetadata: session.metadata });
  }
  return [];
}

async function customerPortalUrl(params: { customerId: string; returnUrl: string }) {
  const session = await stripeClient().billingPortal.sessions.create({ customer: params.customerId, return_url: params.returnUrl });
  return session.url;
}

async function setCancelAtPeriodEnd(subscriptionId: string, cancel: boolean) {
  const subscription = await stripeClient().subscriptions.update(subscriptionId, { cancel_at_period_end: cancel });
  return subscriptionStateOf(subscription, new Date());
}

export const stripeProvider: PaymentProvider = {
  id: 'stripe',
  missingConfiguration: stripeMissingConfiguration,
  verifyWebhook,
  createCheckout,
  fetchCheckout,
  customerPortalUrl,
  setCancelAtPeriodEnd,
};
