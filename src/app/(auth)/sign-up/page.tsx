import type { Metadata } from 'next';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { getTranslations } from 'next-intl/server';
import { creditsConfig } from '@/config/credits';
import { getCurrentUser } from '@/lib/server/auth/session';
import { DEFAULT_RETURN_PATH, safeReturnPath } from '@/lib/return-path';
import { SignUpForm } from '../auth-forms';
import styles from '../auth.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('auth.signUp'))('title') };
}

export default async function SignUpPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const next = safeReturnPath((await searchParams).next);
  if (await getCurrentUser()) redirect(next);
  const t = await getTranslations('auth.signUp');
  return (
    <section className={styles.card}>
      <h1>{t('title')}</h1>
      <p className={styles.lead}>{t('lead', { bonus: creditsConfig.signupBonus.credits, monthly: creditsConfig.freeTier.credits })}</p>
      <SignUpForm next={next} />
      <p className={styles.switch}>
        {t.rich('switch', {
          link: (chunks) => (
            <Link href={next === DEFAULT_RETURN_PATH ? '/sign-in' : `/sign-in?next=${encodeURIComponent(next)}`}>{chunks}</Link>
          ),
        })}
      </p>
    </section>
  );
}
