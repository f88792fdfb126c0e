import 'server-only';
import { env } from '@/env';
import type { PaymentProviderId } from '@/lib/server/db/schema';
import type { PaymentProvider } from './provider';
import { creemProvider } from './creem';
import { stripeProvider } from './stripe';
import { testProvider } from './test-checkout';

// Every provider, declared once: a new one is an adapter file and a line here (docs/architecture.md).
const providers: Record<PaymentProviderId, PaymentProvider> = { stripe: stripeProvider, creem: creemProvider, test: testProvider };

export function paymentProvider(id: PaymentProviderId): PaymentProvider {
  return providers[id];
}

/** The provider new checkouts go to: PAYMENTS_PROVIDER, else the first configured of Stripe and Creem, else the test checkout outside production. */
export function checkoutProvider(): PaymentProvider | null {
  const { PAYMENTS_PROVIDER, NODE_ENV } = env();
  if (PAYMENTS_PROVIDER) return providers[PAYMENTS_PROVIDER];
  const configured = [stripeProvider, creemProvider].find((provider) => provider.missingConfiguration().length === 0);
  if (configured) return configured;
  return NODE_ENV === 'production' ? null : testProvider;
}
