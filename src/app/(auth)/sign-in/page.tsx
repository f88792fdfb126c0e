import type { Metadata } from 'next';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { getTranslations } from 'next-intl/server';
import { getCurrentUser } from '@/lib/server/auth/session';
import { DEFAULT_RETURN_PATH, safeReturnPath } from '@/lib/return-path';
import { SignInForm } from '../auth-forms';
import styles from '../auth.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('auth.signIn'))('title') };
}

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<{ next?: string | string[]; reset?: string | string[] }>;
}) {
  const params = await searchParams;
  const next = safeReturnPath(params.next);
  if (await getCurrentUser()) redirect(next);
  const t = await getTranslations('auth.signIn');
  return (
    <section className={styles.card}>
      <h1>{t('title')}</h1>
      {params.reset === 'done' && (
        <p className={styles.lead} role="status" data-testid="password-changed">
          {t('passwordChanged')}
        </p>
      )}
      <SignInForm next={next} />
      <p className={styles.switch}>
        <Link href="/forgot-password">{t('forgotPassword')}</Link>
      </p>
      <p className={styles.switch}>
        {t.rich('switch', {
          link: (chunks) => (
            <Link href={next === DEFAULT_RETURN_PATH ? '/sign-up' : `/sign-up?next=${encodeURIComponent(next)}`}>{chunks}</Link>
          ),
        })}
      </p>
    </section>
  );
}
