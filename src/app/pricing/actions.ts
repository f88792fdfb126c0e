'use server';
import { redirect } from 'next/navigation';
import { getTranslations } from 'next-intl/server';
import { z } from 'zod';
import { formError } from '@/i18n/form-errors';
import { requireUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { startCheckout, type StartCheckoutResult } from '@/lib/server/usecases/start-checkout';
import { validatedAction } from '@/lib/server/validated-action';
import { requestOrigin } from './request-origin';

/** What a buy button shows after a refused checkout. */
export type BuyState = { error: string | null };

const buySchema = z.object({
  productId: z
    .string({ error: formError('chooseProduct') })
    .trim()
    .min(1)
    .max(100),
});

/** A buy button: starts the checkout for the signed-in user and sends them to it (the provider's page, or the test checkout). */
export const buyProduct = validatedAction(
  buySchema,
  async ({ productId }): Promise<BuyState> => {
    const user = await requireUser('/pricing');
    let result: StartCheckoutResult;
    try {
      result = await startCheckout(await getDb(), { userId: user.id, email: user.email, productId, origin: await requestOrigin() });
    } catch (error) {
      // The provider is down or answered with an error: nothing was charged, the buyer may simply try again.
      console.error(`[checkout] starting a checkout of ${productId} for ${user.id} failed:`, error);
      return { error: (await getTranslations('checkout.errors'))('providerUnreachable') };
    }
    if (!result.ok) return { error: await checkoutRefusal(result) };
    redirect(result.url);
  },
  (error): BuyState => ({ error }),
);

/** A refused checkout in the buyer's words; outside production a missing setting is named, for the developer setting the keys. */
async function checkoutRefusal(result: Extract<StartCheckoutResult, { ok: false }>): Promise<string> {
  const t = await getTranslations('checkout.errors');
  switch (result.reason) {
    case 'unknown_product':
      return t('unknownProduct');
    case 'payments_not_configured':
      return t('paymentsNotConfigured', { detail: result.detail ?? 'none' });
  }
}
