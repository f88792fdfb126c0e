import type { Metadata } from 'next';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { creditsConfig, type CreditPack, type Plan } from '@/config/credits';
import { getCurrentUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { checkoutProvider } from '@/lib/server/payments';
import { getRequestFormatters } from '@/lib/server/request-format';
import { getBillingSummary } from '@/lib/server/usecases/get-billing-summary';
import { BuyButton } from './buy-button';
import { formatPrice, getProductWords } from './products';
import styles from './pricing.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('pricing'))('title') };
}

type Product = Plan | CreditPack;

// Rendered from src/config, never from a provider's API: the page works with no keys and no network.
export default async function PricingPage() {
  const [user, format, t, words] = await Promise.all([
    getCurrentUser(),
    getRequestFormatters(),
    getTranslations('pricing'),
    getProductWords(),
  ]);
  const summary = user ? await getBillingSummary(await getDb(), user.id) : null;
  const currentPlanId = summary?.plan && summary.plan.state !== 'canceled' ? summary.plan.planId : null;
  const provider = checkoutProvider();
  const canBuy = provider !== null && provider.missingConfiguration().length === 0;
  const plans = creditsConfig.plans;
  const sections = [
    { id: 'monthly', products: plans.filter((p) => p.billing === 'monthly') },
    { id: 'yearly', products: plans.filter((p) => p.billing === 'yearly') },
    { id: 'lifetime', products: plans.filter((p) => p.billing === 'lifetime') },
    { id: 'packs', products: creditsConfig.packs },
  ] as const satisfies { id: string; products: Product[] }[];

  return (
    <div className={styles.page}>
      <h1>{t('title')}</h1>
      {provider?.id === 'test' && canBuy && (
        <p className={styles.testBanner} role="note" data-testid="test-checkout-banner">
          {t.rich('testBanner', { strong: (chunks) => <strong>{chunks}</strong> })}
        </p>
      )}
      {!canBuy && (
        <p className={styles.unavailable} role="note">
          {t('unavailable')}
        </p>
      )}
      {sections
        .filter((section) => section.products.length > 0)
        .map((section) => (
          <section key={section.id} className={styles.section}>
            <h2>{t(`sections.${section.id}.title`)}</h2>
            <p className={styles.muted}>{t(`sections.${section.id}.note`)}</p>
            <div className={styles.grid}>
              {section.products.map((product) => (
                <ProductCard
                  key={product.id}
                  product={product}
                  locale={format.locale}
                  words={words}
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

type ProductCardProps = {
  product: Product;
  locale: string;
  words: Awaited<ReturnType<typeof getProductWords>>;
  current: boolean;
  signedIn: boolean;
  canBuy: boolean;
};

async function ProductCard({ product, locale, words, current, signedIn, canBuy }: ProductCardProps) {
  const t = await getTranslations('pricing');
  const isPlan = 'billing' in product;
  return (
    <article className={`${styles.card} ${current ? styles.current : ''}`} data-testid={`product-${product.id}`}>
      <h3>
        {product.name}
        {current && (
          <span className={styles.badge} data-testid="current-plan">
            {t('yourPlan')}
          </span>
        )}
      </h3>
      <p className={styles.price}>
        {formatPrice(locale, product.price)} <span className={styles.cadence}>{words.cadence(product)}</span>
      </p>
      <ul className={styles.details}>
        {words.describe(product).map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
      {!signedIn ? (
        <Link className={styles.signIn} href="/sign-in?next=/pricing">
          {t('signInToBuy')}
        </Link>
      ) : current ? (
        <Link className={styles.signIn} href="/billing">
          {t('manageOnBilling')}
        </Link>
      ) : (
        <BuyButton productId={product.id} label={t(isPlan ? 'choosePlan' : 'buyPack', { name: product.name })} disabled={!canBuy} />
      )}
    </article>
  );
}
