import type { CreditPack, Plan } from '@/config/credits';
import type { Formatters } from '@/lib/format';

// How the pricing, checkout and billing pages word a product: its price and what it gives in credits.

/** `$19.00` from minor units: the currency's own number of decimals (none for JPY), in the request's locale. */
export function formatPrice(locale: string, price: { amount: number; currency: string }): string {
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency: price.currency.toUpperCase() });
  const decimals = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(price.amount / 10 ** decimals);
}

/** How often the price is charged, after the price: "/ month", "/ year", "once". */
export function priceCadence(product: Plan | CreditPack): string {
  if (!('billing' in product)) return 'once';
  return { monthly: '/ month', yearly: '/ year', lifetime: 'once' }[product.billing];
}

const credits = (n: number, format: Formatters) => `${format.credits(n)} ${n === 1 ? 'credit' : 'credits'}`;
const days = (n: number) => `${n} ${n === 1 ? 'day' : 'days'}`;

/** What a product gives, and when, in a few short lines. */
export function describeCredits(product: Plan | CreditPack, format: Formatters): string[] {
  if (!('billing' in product)) {
    return [
      `${credits(product.credits, format)} at once`,
      product.validityDays === null ? 'They never expire' : `Valid for ${days(product.validityDays)}`,
    ];
  }
  switch (product.billing) {
    case 'monthly':
      return [
        `${credits(product.creditsPerPeriod, format)} each month you are billed`,
        `Valid until that billing period ends${product.graceDays > 0 ? ` (+ ${days(product.graceDays)} of grace)` : ''}`,
      ];
    case 'yearly': {
      const each = Math.floor(product.totalCredits / product.installments);
      const every = product.intervalMonths === 1 ? 'every month' : `every ${product.intervalMonths} months`;
      return [
        `${credits(product.totalCredits, format)} a year`,
        product.installments === 1
          ? 'All at once when the year is paid'
          : `In ${product.installments} installments of about ${credits(each, format)}, ${every}; the first at once`,
        product.validityDays === null ? 'They never expire' : `Each installment is valid for ${days(product.validityDays)}`,
      ];
    }
    case 'lifetime':
      return [`${credits(product.creditsPerMonth, format)} every month, for life`, 'Each month’s credits are valid until that month ends'];
  }
}
