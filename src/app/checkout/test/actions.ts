'use server';
import { redirect } from 'next/navigation';
import { z } from 'zod';
import { requireUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { completeTestCheckout } from '@/lib/server/usecases/complete-test-checkout';

const orderSchema = z.object({ orderId: z.uuid() });

/** "Pay (test)": plays the provider's part for this order, then lands on the success page as a real checkout would. */
export async function payTestCheckout(formData: FormData): Promise<void> {
  const user = await requireUser('/pricing');
  const parsed = orderSchema.safeParse(Object.fromEntries(formData));
  if (!parsed.success) redirect('/pricing');
  const { orderId } = parsed.data;
  const result = await completeTestCheckout(await getDb(), { orderId, userId: user.id, now: new Date() });
  // A refusal is shown by the checkout page itself (it checks the same things).
  if (!result.ok) redirect(`/checkout/test/${orderId}`);
  redirect(`/checkout/success?order=${orderId}&checkout=${orderId}`);
}

/** "Cancel": back to the pricing page, as a provider's cancel URL does; the order stays pending and grants nothing. */
export async function cancelTestCheckout(): Promise<void> {
  redirect('/pricing');
}
