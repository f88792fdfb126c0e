'use server';
import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import { getTranslations } from 'next-intl/server';
import { z } from 'zod';
import { requireUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { billingPortalUrl } from '@/lib/server/usecases/get-billing-summary';
import { setCancelAtPeriodEnd } from '@/lib/server/usecases/set-cancel-at-period-end';
import { validatedAction } from '@/lib/server/validated-action';
import { requestOrigin } from '@/app/pricing/request-origin';

/** What the cancel / resume form shows after it ran. */
export type RenewalState = { status: 'idle' | 'done' | 'refused'; message: string | null };

const renewalSchema = z.object({
  subscriptionId: z.string().min(1).max(255),
  cancel: z.enum(['true', 'false']).transform((value) => value === 'true'),
});

/** Cancel at period end, or Resume: the provider is asked, and its answer is stored. */
export const changeRenewal = validatedAction(
  renewalSchema,
  async ({ subscriptionId, cancel }): Promise<RenewalState> => {
    const user = await requireUser('/billing');
    const result = await setCancelAtPeriodEnd(await getDb(), { userId: user.id, subscriptionId, cancel });
    const t = await getTranslations('billing.renewal');
    if (!result.ok) return { status: 'refused', message: t(`refusals.${result.reason}`) };
    revalidatePath('/billing');
    return { status: 'done', message: t(cancel ? 'canceled' : 'resumed') };
  },
  (message): RenewalState => ({ status: 'refused', message }),
);

/** Manage subscription: the provider's own portal (payment method, invoices). */
export async function openBillingPortal(): Promise<void> {
  const user = await requireUser('/billing');
  const url = await billingPortalUrl(await getDb(), { userId: user.id, returnUrl: `${await requestOrigin()}/billing` });
  redirect(url ?? '/billing');
}
