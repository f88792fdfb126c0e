import type { Metadata } from 'next';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { ForgotPasswordForm } from '../auth-forms';
import styles from '../auth.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('auth.forgotPassword'))('title') };
}

export default async function ForgotPasswordPage() {
  const t = await getTranslations('auth.forgotPassword');
  return (
    <section className={styles.card}>
      <h1>{t('title')}</h1>
      <p className={styles.lead}>{t('lead')}</p>
      <ForgotPasswordForm />
      <p className={styles.switch}>{t.rich('switch', { link: (chunks) => <Link href="/sign-in">{chunks}</Link> })}</p>
    </section>
  );
}
