import type { Metadata } from 'next';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { creditsConfig } from '@/config/credits';
import { getCurrentUser } from '@/lib/server/auth/session';
import { SignUpForm } from '../auth-forms';
import styles from '../auth.module.css';

export const metadata: Metadata = { title: 'Create an account' };

export default async function SignUpPage() {
  if (await getCurrentUser()) redirect('/credits');
  return (
    <section className={styles.card}>
      <h1>Create an account</h1>
      <p className={styles.lead}>
        You start with {creditsConfig.signupBonus.credits} bonus credits and {creditsConfig.freeTier.credits} free credits every month.
      </p>
      <SignUpForm />
      <p className={styles.switch}>
        Already have an account? <Link href="/sign-in">Sign in</Link>
      </p>
    </section>
  );
}
