import 'server-only';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { creditsConfig as defaultConfig, findProduct, type CreditsConfig } from '@/config/credits';
import { env } from '@/env';
import { billingCustomers, checkoutOrders } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { checkoutProvider } from '@/lib/server/payments';
import { PaymentsNotConfiguredError, type PaymentProvider } from '@/lib/server/payments/provider';

const paramsSchema = z.object({
  userId: z.string().min(1),
  email: z.email(),
  productId: z.string().trim().min(1).max(100),
  /** The app's public origin (`https://app.example.com`): the provider sends the buyer back there. */
  origin: z.url({ protocol: /^https?$/ }).transform((url) => new URL(url).origin),
});

export type StartCheckoutParams = z.input<typeof paramsSchema> & {
  /** Undefined: the provider new checkouts go to (`checkoutProvider()`); null: none is available. */
  provider?: PaymentProvider | null;
  config?: CreditsConfig;
};

export type StartCheckoutResult =
  | { ok: true; orderId: string; checkoutId: string; url: string; provider: PaymentProvider['id'] }
  | { ok: false; reason: 'unknown_product'; message: string }
  /** `detail`: what is missing, outside production only (the developer setting the keys is the reader there). */
  | { ok: false; reason: 'payments_not_configured'; message: string; detail: string | null };

/**
 * Starts a checkout for a signed-in user: the pending order is written first (its id is the
 * provider's idempotency key and comes back in the success URL), then the provider's hosted checkout
 * is created and its id stored on the order. Nothing is granted here: credits come only from money
 * received (the webhook, the success page, or the test checkout's Pay button).
 */
export async function startCheckout(db: Database, params: StartCheckoutParams): Promise<StartCheckoutResult> {
  const { userId, email, productId, origin } = paramsSchema.parse(params);
  const product = findProduct(params.config ?? defaultConfig, productId);
  if (!product) return { ok: false, reason: 'unknown_product', message: `There is no product "${productId}" for sale.` };

  const provider = params.provider === undefined ? checkoutProvider() : params.provider;
  const missing = provider ? provider.missingConfiguration() : ['STRIPE_SECRET_KEY or CREEM_API_KEY'];
  if (!provider || missing.length > 0) return notConfigured(provider?.id ?? null, missing);

  const [order] = await db.insert(checkoutOrders).values({ userId, provider: provider.id, productId }).returning();
  const [customer] = await db
    .select({ customerId: billingCustomers.customerId })
    .from(billingCustomers)
    .where(and(eq(billingCustomers.provider, provider.id), eq(billingCustomers.userId, userId)));

  let checkout: { checkoutId: string; url: string };
  try {
    checkout = await provider.createCheckout({
      orderId: order!.id,
      userId,
      email,
      product,
      customerId: customer?.customerId ?? null,
      successUrl: `${origin}/checkout/success?order=${order!.id}&checkout={CHECKOUT_ID}`,
      cancelUrl: `${origin}/pricing`,
    });
  } catch (error) {
    // The pending order stays behind: harmless (fulfilment never depends on it), and it records the attempt.
    if (error instanceof PaymentsNotConfiguredError) return notConfigured(provider.id, [error.message]);
    throw error;
  }
  await db.update(checkoutOrders).set({ checkoutId: checkout.checkoutId }).where(eq(checkoutOrders.id, order!.id));
  return { ok: true, orderId: order!.id, checkoutId: checkout.checkoutId, url: checkout.url, provider: provider.id };
}

function notConfigured(provider: PaymentProvider['id'] | null, missing: string[]): StartCheckoutResult {
  const detail = `${provider ?? 'no provider'}: ${missing.join(', ')}`;
  console.error(`[checkout] cannot take payments (${detail})`);
  // Outside production the developer setting the keys is the reader, so the message names what is missing.
  const hint = env().NODE_ENV === 'production' ? null : detail;
  return {
    ok: false,
    reason: 'payments_not_configured',
    message: `Payments are not set up on this site yet, so nothing can be bought right now.${hint ? ` (${hint})` : ''}`,
    detail: hint,
  };
}
