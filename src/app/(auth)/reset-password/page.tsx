import type { Metadata } from 'next';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { ResetPasswordForm } from '../auth-forms';
import styles from '../auth.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('auth.resetPassword'))('title') };
}

/**
 * Where the mailed reset link lands: Better Auth's /api/auth/reset-password/:token checks the token and
 * sends the browser here with `?token=…`, or with `?error=INVALID_TOKEN` when it expired or was used.
 */
export default async function ResetPasswordPage({
  searchParams,
}: {
  searchParams: Promise<{ token?: string | string[]; error?: string | string[] }>;
}) {
  const { token, error } = await searchParams;
  const usable = typeof token === 'string' && token.length > 0 && !error;
  const t = await getTranslations('auth.resetPassword');
  return (
    <section className={styles.card}>
      <h1>{t('title')}</h1>
      {usable ? (
        <ResetPasswordForm token={token} />
      ) : (
        <p className={styles.lead} role="alert" data-testid="form-error">
          {t.rich('linkUnusable', { link: (chunks) => <Link href="/forgot-password">{chunks}</Link> })}
        </p>
      )}
    </section>
  );
}
