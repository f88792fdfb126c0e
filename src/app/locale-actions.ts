'use server';
import { cookies } from 'next/headers';
import { z } from 'zod';
import { LOCALE_COOKIE, locales } from '@/i18n/locales';

const localeSchema = z.enum(locales as [string, ...string[]]);

/** The header's language switcher: the choice is kept in a cookie for a year; setting it re-renders the page in it. */
export async function setLocale(locale: string): Promise<void> {
  const parsed = localeSchema.safeParse(locale);
  // A language we do not have changes nothing: the page stays as it was.
  if (!parsed.success) return;
  (await cookies()).set(LOCALE_COOKIE, parsed.data, { path: '/', maxAge: 60 * 60 * 24 * 365, sameSite: 'lax' });
}
