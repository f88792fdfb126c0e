import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { AppHeader } from '@/components/app-header';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'Credits SaaS Starter', template: '%s · Credits SaaS Starter' },
  description: 'A Next.js SaaS starter built around a prepaid-credits engine driven by cron routes.',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <AppHeader />
        <main>{children}</main>
      </body>
    </html>
  );
}
