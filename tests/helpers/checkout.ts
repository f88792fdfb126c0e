import { count, eq } from 'drizzle-orm';
import { afterEach, vi } from 'vitest';
import { resetEnvCache } from '@/env';
import { checkoutOrders, type PaymentProviderId } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import type { BillingEvent } from '@/lib/server/payments/events';
import type { CheckoutRequest, PaymentProvider } from '@/lib/server/payments/provider';

/**
 * A stand-in for a real provider's API (the network is out of reach in tests): it records the
 * checkouts asked of it and answers `fetchCheckout` with the events a test gives it. The database is
 * always the real one.
 */
export function recordingProvider(id: PaymentProviderId = 'stripe', options: { missing?: string[] } = {}) {
  const checkouts: CheckoutRequest[] = [];
  const paid = new Map<string, BillingEvent[]>();
  let failFetch = false;
  const provider: PaymentProvider = {
    id,
    missingConfiguration: () => options.missing ?? [],
    verifyWebhook: async () => {
      throw new Error('not used');
    },
    createCheckout: async (request) => {
      checkouts.push(request);
      return { checkoutId: `cs_${request.orderId}`, url: `https://pay.example.test/${request.orderId}` };
    },
    fetchCheckout: async (checkoutId) => {
      if (failFetch) throw new Error('provider unreachable');
      return paid.get(checkoutId) ?? [];
    },
    customerPortalUrl: async ({ customerId }) => `https://pay.example.test/portal/${customerId}`,
    setCancelAtPeriodEnd: async () => [],
  };
  return {
    provider,
    checkouts,
    /** What `fetchCheckout(checkoutId)` answers from now on. */
    pay: (checkoutId: string, events: BillingEvent[]) => paid.set(checkoutId, events),
    failFetches: () => (failFetch = true),
  };
}

/** Runs `work` with NODE_ENV=production (and the settings production requires), then restores the environment. */
export async function inProduction<T>(work: () => Promise<T>): Promise<T> {
  vi.stubEnv('NODE_ENV', 'production');
  vi.stubEnv('BETTER_AUTH_SECRET', 'a-production-secret-of-32-chars!');
  vi.stubEnv('BETTER_AUTH_URL', 'https://app.example.com');
  vi.stubEnv('SMTP_URL', 'smtp://127.0.0.1:2525');
  vi.stubEnv('MAIL_FROM', 'Acme <no-reply@acme.test>');
  resetEnvCache();
  try {
    return await work();
  } finally {
    vi.unstubAllEnvs();
    resetEnvCache();
  }
}

/** Restores env() after each test of a file that stubs the environment. */
export function resetEnvAfterEach() {
  afterEach(() => {
    vi.unstubAllEnvs();
    resetEnvCache();
  });
}

export async function ordersOf(db: Database, userId: string) {
  return db.select().from(checkoutOrders).where(eq(checkoutOrders.userId, userId));
}

export async function orderCount(db: Database) {
  const [row] = await db.select({ n: count() }).from(checkoutOrders);
  return row!.n;
}
