import Link from 'next/link';
import { creditsConfig } from '@/config/credits';
import { getCurrentUser } from '@/lib/server/auth/session';
import styles from './home.module.css';

export default async function HomePage() {
  const user = await getCurrentUser();
  return (
    <section className={styles.hero}>
      <h1>Credits SaaS Starter</h1>
      <p>Prepaid credits: granted by plans and packs, spent in burn-down order, expired on time, driven by cron routes.</p>
      <p className={styles.muted}>
        New accounts receive {creditsConfig.signupBonus.credits} bonus credits and {creditsConfig.freeTier.credits} free credits each month.
      </p>
      <div className={styles.actions}>
        {user ? (
          <Link href="/credits" className={styles.primary}>
            See your credits
          </Link>
        ) : (
          <>
            <Link href="/sign-up" className={styles.primary}>
              Create an account
            </Link>
            <Link href="/sign-in">Sign in</Link>
            <Link href="/credits">Your credits</Link>
          </>
        )}
      </div>
    </section>
  );
}
