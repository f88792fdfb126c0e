import type { Metadata } from 'next';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { z } from 'zod';
import { requireUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { fulfilCheckout } from '@/lib/server/usecases/fulfil-checkout';
import formStyles from '@/components/form.module.css';
import styles from '../checkout.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('checkout.success'))('title') };
}

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
  const t = await getTranslations('checkout.success');
  const refresh = `/checkout/success?order=${query.order ?? ''}&checkout=${encodeURIComponent(query.checkout ?? '')}`;

  if (!result?.ok) {
    return (
      <section className={styles.card}>
        <h1>{t('notFoundTitle')}</h1>
        <p className={formStyles.error} role="alert">
          {t('notFound')}
        </p>
        <Links />
      </section>
    );
  }
  return (
    <section className={styles.card} data-testid="checkout-result">
      <h1>{t('title')}</h1>
      <p>{t.rich('order', { product: result.productName, strong: (chunks) => <strong>{chunks}</strong> })}</p>
      {result.status === 'credited' ? (
        <>
          <p className={styles.big} data-testid="credits-added">
            {t('creditsAdded', { count: result.credits })}
          </p>
          <p className={formStyles.success}>{t('credited')}</p>
        </>
      ) : (
        <p className={styles.muted} data-testid="credits-pending">
          {t.rich('pending', { link: (chunks) => <Link href={refresh}>{chunks}</Link> })}
        </p>
      )}
      <Links />
    </section>
  );
}

async function Links() {
  const t = await getTranslations('checkout.success');
  return (
    <p className={styles.links}>
      <Link href="/credits">{t('yourCredits')}</Link>
      <Link href="/billing">{t('billing')}</Link>
    </p>
  );
}
