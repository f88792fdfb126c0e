import 'server-only';
import type { Product } from '@/config/credits';
import type { PaymentProviderId } from '@/lib/server/db/schema';
import type { BillingEvent, VerifiedWebhook } from './events';

/** Why a webhook is not accepted: the route answers 400 for a signature, 503 when the provider has no keys. */
export class WebhookSignatureError extends Error {}

export class PaymentsNotConfiguredError extends Error {
  constructor(
    readonly provider: PaymentProviderId,
    missing: string[],
  ) {
    super(`${provider} payments are not configured: set ${missing.join(', ')}`);
  }
}

export type CheckoutRequest = {
  /** The pending order's id: passed to the provider as its idempotency key, and carried in the metadata. */
  orderId: string;
  userId: string;
  email: string;
  product: Product;
  /** The provider's customer of this user, when there is one already. */
  customerId: string | null;
  /** Absolute URLs; `{CHECKOUT_ID}` in the success URL is replaced by the provider's checkout id where it supports it. */
  successUrl: string;
  cancelUrl: string;
};

/**
 * One payment provider behind the seam of docs/payments.md. Clients are created on first use: a
 * provider without keys throws PaymentsNotConfiguredError from its methods, never at import.
 */
export type PaymentProvider = {
  id: PaymentProviderId;
  /** The variables this provider still needs (empty: configured). */
  missingConfiguration(): string[];
  /** Verifies the signature over the raw body and normalizes the event; throws WebhookSignatureError. */
  verifyWebhook(rawBody: string, headers: Headers): Promise<VerifiedWebhook>;
  /** Creates the provider's hosted checkout; the answer's `url` is where the buyer goes. */
  createCheckout(request: CheckoutRequest): Promise<{ checkoutId: string; url: string }>;
  /** The success page's fulfilment: what the provider says the checkout paid for, as normalized events (none while unpaid). */
  fetchCheckout(checkoutId: string): Promise<BillingEvent[]>;
  /** The provider's self-service page for a customer (payment method, invoices, cancel). */
  customerPortalUrl(params: { customerId: string; returnUrl: string }): Promise<string>;
  /** Cancel at the end of the current period (true) or take that back (false); answers the new state. */
  setCancelAtPeriodEnd(subscriptionId: string, cancel: boolean): Promise<BillingEvent[]>;
};
