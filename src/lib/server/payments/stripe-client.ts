import 'server-only';
import Stripe from 'stripe';
import { env } from '@/env';
import { PaymentsNotConfiguredError } from './provider';

/**
 * The Stripe API version this adapter reads payloads in. The webhook endpoint must send events in a
 * version at least this recent in shape (2025-03-31.basil or later: `invoice.parent.subscription_details`,
 * periods on subscription items, `invoice.payments`); pin the endpoint to this one in the dashboard.
 */
export const STRIPE_API_VERSION = Stripe.API_VERSION;

/** The variables Stripe still needs: the route answers 503 while any is missing. */
export function stripeMissingConfiguration(): string[] {
  const { STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET } = env();
  return [!STRIPE_SECRET_KEY && 'STRIPE_SECRET_KEY', !STRIPE_WEBHOOK_SECRET && 'STRIPE_WEBHOOK_SECRET'].filter((name): name is string =>
    Boolean(name),
  );
}

export function stripeWebhookSecret(): string {
  const secret = env().STRIPE_WEBHOOK_SECRET;
  if (!secret) throw new PaymentsNotConfiguredError('stripe', ['STRIPE_WEBHOOK_SECRET']);
  return secret;
}

let cached: { key: string; apiUrl: string | undefined; client: Stripe } | undefined;

/**
 * The Stripe client, created on first use (a fresh clone without keys never builds one) and again
 * when the key or the API address changes (tests switch them between files with resetEnvCache).
 */
export function stripeClient(): Stripe {
  const { STRIPE_SECRET_KEY: key, STRIPE_API_URL: apiUrl } = env();
  if (!key) throw new PaymentsNotConfiguredError('stripe', ['STRIPE_SECRET_KEY']);
  if (cached?.key === key && cached.apiUrl === apiUrl) return cached.client;
  const standIn = apiUrl ? new URL(apiUrl) : undefined;
  const client = new Stripe(key, {
    apiVersion: STRIPE_API_VERSION,
    // A webhook that needs an API call (a refund's invoice) answers 500 on failure and Stripe retries
    // it; two quick retries here save most of those round trips without holding the request long.
    maxNetworkRetries: 2,
    timeout: 20_000,
    appInfo: { name: 'credits-saas-starter' },
    ...(standIn && {
      host: standIn.hostname,
      port: standIn.port || (standIn.protocol === 'https:' ? 443 : 80),
      protocol: standIn.protocol === 'https:' ? 'https' : 'http',
    }),
  });
  cached = { key, apiUrl, client };
  return client;
}
