import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { creditsConfig } from '@/config/credits';
import { getCurrentUser } from '@/lib/server/auth/session';
import styles from './home.module.css';

export default async function HomePage() {
  const [user, t] = await Promise.all([getCurrentUser(), getTranslations('home')]);
  return (
    <section className={styles.hero}>
      <h1>{t('title')}</h1>
      <p>{t('lead')}</p>
      <p className={styles.muted}>{t('welcome', { bonus: creditsConfig.signupBonus.credits, monthly: creditsConfig.freeTier.credits })}</p>
      <div className={styles.actions}>
        {user ? (
          <Link href="/credits" className={styles.primary}>
            {t('seeCredits')}
          </Link>
        ) : (
          <>
            <Link href="/sign-up" className={styles.primary}>
              {t('signUp')}
            </Link>
            <Link href="/sign-in">{t('signIn')}</Link>
            <Link href="/credits">{t('yourCredits')}</Link>
          </>
        )}
      </div>
    </section>
  );
}
