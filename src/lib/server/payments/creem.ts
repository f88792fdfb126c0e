import 'server-only';
import type { PaymentProvider } from './provider';
import { PaymentsNotConfiguredError } from './provider';

// Placeholder while the Creem adapter is written: reports itself unconfigured.
function notReady(): never {
  throw new PaymentsNotConfiguredError('creem', ['(adapter not written yet)']);
}

export const creemProvider: PaymentProvider = {
  id: 'creem',
  missingConfiguration: () => ['(adapter not written yet)'],
  verifyWebhook: async () => notReady(),
  createCheckout: async () => notReady(),
  fetchCheckout: async () => notReady(),
  customerPortalUrl: async () => notReady(),
  setCancelAtPeriodEnd: async () => notReady(),
};
