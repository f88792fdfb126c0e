import 'server-only';
import type { PaymentProvider } from './provider';
import { PaymentsNotConfiguredError } from './provider';

// Placeholder while the Test adapter is written: reports itself unconfigured.
function notReady(): never {
  throw new PaymentsNotConfiguredError('test', ['(adapter not written yet)']);
}

export const testProvider: PaymentProvider = {
  id: 'test',
  missingConfiguration: () => ['(adapter not written yet)'],
  verifyWebhook: async () => notReady(),
  createCheckout: async () => notReady(),
  fetchCheckout: async () => notReady(),
  customerPortalUrl: async () => notReady(),
  setCancelAtPeriodEnd: async () => notReady(),
};
