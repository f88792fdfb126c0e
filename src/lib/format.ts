// Dates are stored and computed in UTC. Server components do not know the browser's time zone, so
// pages format in the locale the browser asks for (Accept-Language) and show times in UTC, labelled
// as such: the same instants the engine uses (a free month ends at 00:00 UTC on the 1st).

const FALLBACK_LOCALE = 'en-US';

/** The first locale of an Accept-Language header (by q-value) that this runtime can format, else en-US. */
export function pickLocale(acceptLanguage: string | null | undefined): string {
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { tag: tag.trim(), q: q ? Number(q.slice(2)) : 1, index };
    })
    .filter(({ tag, q }) => tag !== '' && tag !== '*' && Number.isFinite(q) && q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { tag } of ranked) {
    try {
      const [supported] = Intl.DateTimeFormat.supportedLocalesOf(tag);
      if (supported) return supported;
    } catch {
      // Not a well-formed language tag: try the next one.
    }
  }
  return FALLBACK_LOCALE;
}

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
