import 'server-only';
import type { PaymentProvider } from './provider';
import { PaymentsNotConfiguredError } from './provider';

// Placeholder while the Stripe adapter is written: reports itself unconfigured.
function notReady(): never {
  throw new PaymentsNotConfiguredError('stripe', ['(adapter not written yet)']);
}

export const stripeProvider: PaymentProvider = {
  id: 'stripe',
  missingConfiguration: () => ['(adapter not written yet)'],
  verifyWebhook: async () => notReady(),
  createCheckout: async () => notReady(),
  fetchCheckout: async () => notReady(),
  customerPortalUrl: async () => notReady(),
  setCancelAtPeriodEnd: async () => notReady(),
};
