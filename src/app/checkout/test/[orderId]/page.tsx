import type { Metadata } from 'next';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { requireUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { getTestCheckoutOrder } from '@/lib/server/usecases/complete-test-checkout';
import { formatPrice, getProductWords } from '@/app/pricing/products';
import formStyles from '@/components/form.module.css';
import { cancelTestCheckout, payTestCheckout } from '../actions';
import styles from '../../checkout.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('checkout.test'))('title') };
}

type PageProps = { params: Promise<{ orderId: string }> };

// Stands in for a provider's hosted checkout page while no provider is configured (never in production).
export default async function TestCheckoutPage({ params }: PageProps) {
  const { orderId } = await params;
  const user = await requireUser('/pricing');
  const [found, format, t] = await Promise.all([
    getTestCheckoutOrder(await getDb(), { orderId, userId: user.id }),
    getRequestFormatters(),
    getTranslations('checkout.test'),
  ]);

  return (
    <section className={styles.card}>
      <p className={styles.testLabel} data-testid="test-checkout-label">
        {t('label')}
      </p>
      {!found.ok ? (
        <>
          <h1>{t('cannotPay')}</h1>
          <p className={formStyles.error} role="alert">
            {t(`refusals.${found.reason}`)}
          </p>
          <p>
            <Link href="/pricing">{t('backToPricing')}</Link>
          </p>
        </>
      ) : (
        <>
          <h1>{found.product.kind === 'plan' ? found.product.plan.name : found.product.pack.name}</h1>
          <Summary product={found.product.kind === 'plan' ? found.product.plan : found.product.pack} locale={format.locale} />
          {found.order.status === 'completed' ? (
            <p className={formStyles.success}>
              {t.rich('alreadyPaid', {
                link: (chunks) => <Link href={`/checkout/success?order=${found.order.id}&checkout=${found.order.id}`}>{chunks}</Link>,
              })}
            </p>
          ) : (
            <p className={styles.muted}>{t('explanation')}</p>
          )}
          <div className={styles.actions}>
            <form action={payTestCheckout}>
              <input type="hidden" name="orderId" value={found.order.id} />
              <button className={formStyles.button} type="submit" data-testid="pay-test">
                {t('pay')}
              </button>
            </form>
            <form action={cancelTestCheckout}>
              <button className={formStyles.secondary} type="submit">
                {t('cancel')}
              </button>
            </form>
          </div>
        </>
      )}
    </section>
  );
}

async function Summary({
  product,
  locale,
}: {
  product: Parameters<Awaited<ReturnType<typeof getProductWords>>['describe']>[0];
  locale: string;
}) {
  const words = await getProductWords();
  return (
    <>
      <p className={styles.price} data-testid="test-checkout-price">
        {formatPrice(locale, product.price)} <span className={styles.muted}>{words.cadence(product)}</span>
      </p>
      <ul>
        {words.describe(product).map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
    </>
  );
}
