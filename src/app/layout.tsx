import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { connection } from 'next/server';
import { NextIntlClientProvider } from 'next-intl';
import { getTranslations } from 'next-intl/server';
import { AppHeader } from '@/components/app-header';
import { getRequestLocales } from '@/i18n/request';
import './globals.css';

export async function generateMetadata(): Promise<Metadata> {
  const t = await getTranslations('meta');
  return {
    title: { default: t('title'), template: t('titleTemplate', { page: '%s' }) },
    description: t('description'),
  };
}

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Every page renders per request, so its scripts carry that response's CSP nonce (src/proxy.ts): a
  // page prerendered at build time would have none, and the browser would refuse its scripts.
  await connection();
  const { locale } = await getRequestLocales();
  return (
    <html lang={locale}>
      <body>
        {/* Passes the request's locale and messages on to the client components (the forms). */}
        <NextIntlClientProvider>
          <AppHeader />
          <main>{children}</main>
        </NextIntlClientProvider>
      </body>
    </html>
  );
}
