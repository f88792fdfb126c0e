import type { Metadata } from 'next';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { creditsConfig } from '@/config/credits';
import { getCurrentUser } from '@/lib/server/auth/session';
import { DEFAULT_RETURN_PATH, safeReturnPath } from '@/lib/return-path';
import { SignUpForm } from '../auth-forms';
import styles from '../auth.module.css';

export const metadata: Metadata = { title: 'Create an account' };

export default async function SignUpPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const next = safeReturnPath((await searchParams).next);
  if (await getCurrentUser()) redirect(next);
  return (
    <section className={styles.card}>
      <h1>Create an account</h1>
      <p className={styles.lead}>
        You start with {creditsConfig.signupBonus.credits} bonus credits and {creditsConfig.freeTier.credits} free credits every month.
      </p>
      <SignUpForm next={next} />
      <p className={styles.switch}>
        Already have an account?{' '}
        <Link href={next === DEFAULT_RETURN_PATH ? '/sign-in' : `/sign-in?next=${encodeURIComponent(next)}`}>Sign in</Link>
      </p>
    </section>
  );
}
