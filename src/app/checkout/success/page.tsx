import type { Metadata } from 'next';
import Link from 'next/link';
import { z } from 'zod';
import { requireUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { fulfilCheckout } from '@/lib/server/usecases/fulfil-checkout';
import formStyles from '@/components/form.module.css';
import styles from '../checkout.module.css';

export const metadata: Metadata = { title: 'Thank you' };

const querySchema = z.object({
  order: z.uuid().optional().catch(undefined),
  // Left as `{CHECKOUT_ID}` by a provider that does not fill it in: the order's stored id is used then.
  checkout: z.string().min(1).max(255).optional().catch(undefined),
});

type PageProps = { searchParams: Promise<Record<string, string | string[] | undefined>> };

// Where a provider sends the buyer after paying. It fulfils the order itself (the webhook may not
// have arrived yet) and shows what has landed now; it never waits for the webhook.
export default async function CheckoutSuccessPage({ searchParams }: PageProps) {
  const query = querySchema.parse(await searchParams);
  const user = await requireUser('/billing');
  const result = query.order
    ? await fulfilCheckout(await getDb(), { userId: user.id, orderId: query.order, checkoutId: query.checkout, now: new Date() })
    : null;
  const format = await getRequestFormatters();
  const refresh = `/checkout/success?order=${query.order ?? ''}&checkout=${encodeURIComponent(query.checkout ?? '')}`;

  if (!result?.ok) {
    return (
      <section className={styles.card}>
        <h1>Order not found</h1>
        <p className={formStyles.error} role="alert">
          There is no such order on your account. If you paid, your credits will appear on your credits page once the payment is confirmed.
        </p>
        <Links />
      </section>
    );
  }
  return (
    <section className={styles.card} data-testid="checkout-result">
      <h1>Thank you</h1>
      <p>
        Your order: <strong>{result.productName}</strong>
      </p>
      {result.status === 'credited' ? (
        <>
          <p className={styles.big} data-testid="credits-added">
            +{format.credits(result.credits)} credits
          </p>
          <p className={formStyles.success}>Payment received. The credits are in your balance.</p>
        </>
      ) : (
        <p className={styles.muted} data-testid="credits-pending">
          Payment received, your credits will appear shortly. <Link href={refresh}>Refresh</Link>
        </p>
      )}
      <Links />
    </section>
  );
}

function Links() {
  return (
    <p className={styles.links}>
      <Link href="/credits">Your credits</Link>
      <Link href="/billing">Billing</Link>
    </p>
  );
}
