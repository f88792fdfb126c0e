import type { Metadata } from 'next';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { getCurrentUser } from '@/lib/server/auth/session';
import { DEFAULT_RETURN_PATH, safeReturnPath } from '@/lib/return-path';
import { SignInForm } from '../auth-forms';
import styles from '../auth.module.css';

export const metadata: Metadata = { title: 'Sign in' };

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const next = safeReturnPath((await searchParams).next);
  if (await getCurrentUser()) redirect(next);
  return (
    <section className={styles.card}>
      <h1>Sign in</h1>
      <SignInForm next={next} />
      <p className={styles.switch}>
        New here?{' '}
        <Link href={next === DEFAULT_RETURN_PATH ? '/sign-up' : `/sign-up?next=${encodeURIComponent(next)}`}>Create an account</Link>
      </p>
    </section>
  );
}
