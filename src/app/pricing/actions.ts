'use server';
import { redirect } from 'next/navigation';
import { z } from 'zod';
import { requireUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { startCheckout, type StartCheckoutResult } from '@/lib/server/usecases/start-checkout';
import { validatedAction } from '@/lib/server/validated-action';
import { requestOrigin } from './request-origin';

/** What a buy button shows after a refused checkout. */
export type BuyState = { error: string | null };

const buySchema = z.object({ productId: z.string({ error: 'Choose something to buy.' }).trim().min(1).max(100) });

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
      return { error: 'The payment provider could not be reached. Nothing was charged; try again in a moment.' };
    }
    if (!result.ok) return { error: result.message };
    redirect(result.url);
  },
  (error): BuyState => ({ error }),
);
