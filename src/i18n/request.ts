import { cache } from 'react';
import { cookies, headers } from 'next/headers';
import { getRequestConfig } from 'next-intl/server';
import { LOCALE_COOKIE, resolveLocales, type AppLocale } from './locales';

// No locale in the URL: the app's addresses (/credits, checkout return URLs, mail links, cron and
// webhook routes) are the same in every language. The reader's choice is a cookie, Accept-Language the
// default (docs/i18n.md says why).

/** This request's languages: read once per request, by next-intl and by the header's switcher. */
export const getRequestLocales = cache(async () => {
  const [cookieStore, headerList] = await Promise.all([cookies(), headers()]);
  return resolveLocales({ cookie: cookieStore.get(LOCALE_COOKIE)?.value, acceptLanguage: headerList.get('accept-language') });
});

export const loadMessages = async (locale: AppLocale) => (await import(`../../messages/${locale}.json`)).default as Messages;

type Messages = typeof import('../../messages/en.json');

export default getRequestConfig(async () => {
  const { locale, formatLocale } = await getRequestLocales();
  return {
    // next-intl formats (and picks plural rules) in this locale; the words come from `locale`'s file.
    locale: formatLocale,
    messages: await loadMessages(locale),
    timeZone: 'UTC',
  };
});
