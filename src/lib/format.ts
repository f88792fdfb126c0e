// Dates are stored and computed in UTC. Server components do not know the browser's time zone, so
// pages format in the request's locale (src/i18n/request.ts: the page's language, in the browser's
// regional variant of it) and show times in UTC, labelled as such: the same instants the engine uses
// (a free month ends at 00:00 UTC on the 1st).

export type Formatters = {
  locale: string;
  /** "Dec 1, 2026, 12:00 AM UTC" in en-US, "1 déc. 2026, 00:00 UTC" in fr-FR. */
  dateTime(date: Date): string;
  credits(amount: number): string;
};

export function createFormatters(locale: string): Formatters {
  const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  return {
    locale,
    dateTime: (date) => `${dateTime.format(date)} UTC`,
    credits: (amount) => number.format(amount),
  };
}

/** `$19.00` from minor units: the currency's own number of decimals (none for JPY), in `locale`. */
export function formatPrice(locale: string, price: { amount: number; currency: string }): string {
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency: price.currency.toUpperCase() });
  const decimals = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(price.amount / 10 ** decimals);
}
