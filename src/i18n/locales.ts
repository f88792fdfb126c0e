// The languages the app speaks: one entry here and one `messages/<code>.json` file add a language.
// The name is written in the language itself, as the header's switcher shows it.
export const localeNames = {
  en: 'English',
  'zh-CN': '简体中文',
} as const satisfies Record<string, string>;

export type AppLocale = keyof typeof localeNames;
export const locales = Object.keys(localeNames) as AppLocale[];
/** Spoken to anyone whose browser asks for none of the languages above. */
export const defaultLocale: AppLocale = 'en';
/** Set by the header's language switcher: a choice made here wins over what the browser asks for. */
export const LOCALE_COOKIE = 'NEXT_LOCALE';

export function isAppLocale(value: unknown): value is AppLocale {
  return typeof value === 'string' && Object.hasOwn(localeNames, value);
}

/** The tags of an Accept-Language header, best first (by q-value, then by order); `*` and q=0 are left out. */
export function rankLanguageTags(acceptLanguage: string | null | undefined): string[] {
  return (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { tag: tag.trim(), q: q ? Number(q.slice(2)) : 1, index };
    })
    .filter(({ tag, q }) => tag !== '' && tag !== '*' && Number.isFinite(q) && q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
    .map(({ tag }) => tag);
}

function parse(tag: string): Intl.Locale | null {
  try {
    return new Intl.Locale(tag).maximize();
  } catch {
    return null; // not a well-formed language tag
  }
}

export type RequestLocales = {
  /** The language of the words on the page. */
  locale: AppLocale;
  /**
   * The locale numbers and dates are formatted in: the browser's own regional variant of that language
   * when it asks for one (en-GB: 1 Dec 2026), else the language itself.
   */
  formatLocale: string;
};

/**
 * The cookie's choice if it names a language we have; else the first language of Accept-Language we
 * speak, matched by language (zh, zh-CN, zh-SG and zh-TW all read 简体中文 rather than English); else English.
 */
export function resolveLocales({ cookie, acceptLanguage }: { cookie?: string | null; acceptLanguage?: string | null }): RequestLocales {
  const ranked = rankLanguageTags(acceptLanguage)
    .map((tag) => ({ tag, parsed: parse(tag) }))
    .filter((entry): entry is { tag: string; parsed: Intl.Locale } => entry.parsed !== null);
  const language = (locale: AppLocale) => parse(locale)!.language;
  const locale: AppLocale = isAppLocale(cookie)
    ? cookie
    : (ranked.map(({ parsed }) => locales.find((candidate) => language(candidate) === parsed.language)).find(Boolean) ?? defaultLocale);
  const own = parse(locale)!;
  // Only a variant in the same script: a zh-TW browser reading Simplified Chinese gets zh-CN's dates.
  const variant = ranked.find(({ parsed }) => parsed.language === own.language && parsed.script === own.script);
  const [supported] = variant ? Intl.DateTimeFormat.supportedLocalesOf(variant.tag) : [];
  return { locale, formatLocale: supported ?? locale };
}
