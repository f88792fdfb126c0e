import type { CreditPack, Plan } from '@/config/credits';
import { getTranslations } from 'next-intl/server';

// How the pricing, checkout and billing pages word a product: its price and what it gives in credits.

// Pages and mails word a price the same way (a receipt is sent from a usecase, so the function lives in lib).
export { formatPrice } from '@/lib/format';

/** How a product is worded in the request's language: how often it is charged, and what it gives in credits. */
export async function getProductWords() {
  const t = await getTranslations('products');
  return {
    /** How often the price is charged, after the price: "/ month", "/ year", "once". */
    cadence: (product: Plan | CreditPack) => t(`cadence.${'billing' in product ? product.billing : 'once'}`),
    /** What a product gives, and when, in a few short lines. */
    describe(product: Plan | CreditPack): string[] {
      if (!('billing' in product)) {
        return [t('pack.credits', { count: product.credits }), validity(product.validityDays, 'pack.validFor')];
      }
      switch (product.billing) {
        case 'monthly':
          return [t('monthly.credits', { count: product.creditsPerPeriod }), t('monthly.validity', { graceDays: product.graceDays })];
        case 'yearly':
          return [
            t('yearly.credits', { count: product.totalCredits }),
            t('yearly.installments', {
              installments: product.installments,
              each: Math.floor(product.totalCredits / product.installments),
              months: product.intervalMonths,
            }),
            validity(product.validityDays, 'yearly.validFor'),
          ];
        case 'lifetime':
          return [t('lifetime.credits', { count: product.creditsPerMonth }), t('lifetime.validity')];
      }
    },
  };

  function validity(days: number | null, key: 'pack.validFor' | 'yearly.validFor') {
    return days === null ? t('neverExpire') : t(key, { days });
  }
}
