import type { Metadata } from 'next';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { getCurrentUser } from '@/lib/server/auth/session';
import { SignInForm } from '../auth-forms';
import styles from '../auth.module.css';

export const metadata: Metadata = { title: 'Sign in' };

export default async function SignInPage() {
  if (await getCurrentUser()) redirect('/credits');
  return (
    <section className={styles.card}>
      <h1>Sign in</h1>
      <SignInForm />
      <p className={styles.switch}>
        New here? <Link href="/sign-up">Create an account</Link>
      </p>
    </section>
  );
}
