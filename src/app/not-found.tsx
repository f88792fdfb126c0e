import type { Metadata } from 'next';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import styles from './home.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('notFound'))('title') };
}

// Every 404, including the admin console's for anyone who is not an admin, in the reader's language.
// Next's built-in 404 page styles itself with inline styles, which the Content-Security-Policy refuses
// (docs/security.md); this one uses the app's stylesheets.
export default async function NotFound() {
  const t = await getTranslations('notFound');
  return (
    <section className={styles.hero}>
      <h1>{t('title')}</h1>
      <p className={styles.muted}>{t('explanation')}</p>
      <div className={styles.actions}>
        <Link href="/" className={styles.primary}>
          {t('home')}
        </Link>
      </div>
    </section>
  );
}
