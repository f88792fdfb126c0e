import type { Metadata } from 'next';
import Link from 'next/link';
import type { Formatters } from '@/lib/format';
import { requireUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { getTestCheckoutOrder } from '@/lib/server/usecases/complete-test-checkout';
import { describeCredits, formatPrice, priceCadence } from '@/app/pricing/products';
import formStyles from '@/components/form.module.css';
import { cancelTestCheckout, payTestCheckout } from '../actions';
import styles from '../../checkout.module.css';

export const metadata: Metadata = { title: 'Test checkout' };

type PageProps = { params: Promise<{ orderId: string }> };

// Stands in for a provider's hosted checkout page while no provider is configured (never in production).
export default async function TestCheckoutPage({ params }: PageProps) {
  const { orderId } = await params;
  const user = await requireUser('/pricing');
  const [found, format] = await Promise.all([getTestCheckoutOrder(await getDb(), { orderId, userId: user.id }), getRequestFormatters()]);

  return (
    <section className={styles.card}>
      <p className={styles.testLabel} data-testid="test-checkout-label">
        TEST CHECKOUT — no real payment
      </p>
      {!found.ok ? (
        <>
          <h1>This checkout cannot be paid</h1>
          <p className={formStyles.error} role="alert">
            {found.message}
          </p>
          <p>
            <Link href="/pricing">Back to pricing</Link>
          </p>
        </>
      ) : (
        <>
          <h1>{found.product.kind === 'plan' ? found.product.plan.name : found.product.pack.name}</h1>
          <Summary product={found.product.kind === 'plan' ? found.product.plan : found.product.pack} format={format} />
          {found.order.status === 'completed' ? (
            <p className={formStyles.success}>
              This order is already paid. <Link href={`/checkout/success?order=${found.order.id}&checkout=${found.order.id}`}>See it</Link>
            </p>
          ) : (
            <p className={styles.muted}>
              Pressing Pay (test) records the payment exactly as a real provider&apos;s confirmation would: the same billing events, the
              same credits. No card is asked for and no money moves.
            </p>
          )}
          <div className={styles.actions}>
            <form action={payTestCheckout}>
              <input type="hidden" name="orderId" value={found.order.id} />
              <button className={formStyles.button} type="submit" data-testid="pay-test">
                Pay (test)
              </button>
            </form>
            <form action={cancelTestCheckout}>
              <button className={formStyles.secondary} type="submit">
                Cancel
              </button>
            </form>
          </div>
        </>
      )}
    </section>
  );
}

function Summary({ product, format }: { product: Parameters<typeof describeCredits>[0]; format: Formatters }) {
  return (
    <>
      <p className={styles.price} data-testid="test-checkout-price">
        {formatPrice(format.locale, product.price)} <span className={styles.muted}>{priceCadence(product)}</span>
      </p>
      <ul>
        {describeCredits(product, format).map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
    </>
  );
}
