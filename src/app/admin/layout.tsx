import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { requireAdmin } from '@/lib/server/auth/session';
import styles from './admin.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('admin'))('title'), robots: { index: false } };
}

// The layout's check hides the console's frame; each page and action checks again, since a layout
// guards neither a server action nor a page rendered on its own.
export default async function AdminLayout({ children }: { children: ReactNode }) {
  await requireAdmin();
  const t = await getTranslations('admin');
  return (
    <div className={styles.page}>
      <nav className={styles.nav} aria-label={t('title')}>
        <Link href="/admin/jobs">{t('nav.jobs')}</Link>
        <Link href="/admin/users">{t('nav.users')}</Link>
        <Link href="/admin/audit">{t('nav.audit')}</Link>
      </nav>
      {children}
    </div>
  );
}
