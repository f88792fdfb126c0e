import type { Metadata } from 'next';
import Link from 'next/link';
import { creditsConfig, type CreditPack, type Plan } from '@/config/credits';
import type { Formatters } from '@/lib/format';
import { getCurrentUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { checkoutProvider } from '@/lib/server/payments';
import { getRequestFormatters } from '@/lib/server/request-format';
import { getBillingSummary } from '@/lib/server/usecases/get-billing-summary';
import { BuyButton } from './buy-button';
import { describeCredits, formatPrice, priceCadence } from './products';
import styles from './pricing.module.css';

export const metadata: Metadata = { title: 'Pricing' };

type Product = Plan | CreditPack;

// Rendered from src/config, never from a provider's API: the page works with no keys and no network.
export default async function PricingPage() {
  const [user, format] = await Promise.all([getCurrentUser(), getRequestFormatters()]);
  const summary = user ? await getBillingSummary(await getDb(), user.id) : null;
  const currentPlanId = summary?.plan && summary.plan.state !== 'canceled' ? summary.plan.planId : null;
  const provider = checkoutProvider();
  const canBuy = provider !== null && provider.missingConfiguration().length === 0;
  const plans = creditsConfig.plans;
  const sections: { title: string; note: string; products: Product[] }[] = [
    { title: 'Monthly plans', note: 'Billed every month; cancel any time.', products: plans.filter((p) => p.billing === 'monthly') },
    { title: 'Yearly plans', note: 'Billed once a year.', products: plans.filter((p) => p.billing === 'yearly') },
    { title: 'Lifetime', note: 'Paid once.', products: plans.filter((p) => p.billing === 'lifetime') },
    { title: 'Credit packs', note: 'Paid once, on top of any plan.', products: creditsConfig.packs },
  ];

  return (
    <div className={styles.page}>
      <h1>Pricing</h1>
      {provider?.id === 'test' && canBuy && (
        <p className={styles.testBanner} role="note" data-testid="test-checkout-banner">
          <strong>Test checkout — no real payment.</strong> No payment provider is configured, so purchases go through this app’s own test
          checkout. Set Stripe or Creem keys to take real payments (docs/payments.md).
        </p>
      )}
      {!canBuy && (
        <p className={styles.unavailable} role="note">
          Payments are not set up on this site yet, so nothing can be bought right now.
        </p>
      )}
      {sections
        .filter((section) => section.products.length > 0)
        .map((section) => (
          <section key={section.title} className={styles.section}>
            <h2>{section.title}</h2>
            <p className={styles.muted}>{section.note}</p>
            <div className={styles.grid}>
              {section.products.map((product) => (
                <ProductCard
                  key={product.id}
                  product={product}
                  format={format}
                  current={product.id === currentPlanId}
                  signedIn={user !== null}
                  canBuy={canBuy}
                />
              ))}
            </div>
          </section>
        ))}
    </div>
  );
}

function ProductCard(props: { product: Product; format: Formatters; current: boolean; signedIn: boolean; canBuy: boolean }) {
  const { product, format, current, signedIn, canBuy } = props;
  const isPlan = 'billing' in product;
  return (
    <article className={`${styles.card} ${current ? styles.current : ''}`} data-testid={`product-${product.id}`}>
      <h3>
        {product.name}
        {current && (
          <span className={styles.badge} data-testid="current-plan">
            Your plan
          </span>
        )}
      </h3>
      <p className={styles.price}>
        {formatPrice(format.locale, product.price)} <span className={styles.cadence}>{priceCadence(product)}</span>
      </p>
      <ul className={styles.details}>
        {describeCredits(product, format).map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
      {!signedIn ? (
        <Link className={styles.signIn} href="/sign-in?next=/pricing">
          Sign in to buy
        </Link>
      ) : current ? (
        <Link className={styles.signIn} href="/billing">
          Manage on the billing page
        </Link>
      ) : (
        <BuyButton productId={product.id} label={isPlan ? `Choose ${product.name}` : `Buy ${product.name}`} disabled={!canBuy} />
      )}
    </article>
  );
}
