import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { signOut } from '@/app/(auth)/actions';
import { getRequestLocales } from '@/i18n/request';
import { getCurrentUser } from '@/lib/server/auth/session';
import { hasAdminRole } from '@/lib/server/auth/roles';
import { getDb } from '@/lib/server/db';
import { getCreditBalance } from '@/lib/server/usecases/get-credit-balance';
import { LanguageSwitcher } from './language-switcher';
import styles from './app-header.module.css';

/** The bar on every page: the balance badge and sign-out for a signed-in user, sign-in links for anyone else; the languages. */
export async function AppHeader() {
  const [user, t, { locale }] = await Promise.all([getCurrentUser(), getTranslations('header'), getRequestLocales()]);
  return (
    <header className={styles.header}>
      <div className={styles.inner}>
        <Link href="/" className={styles.brand}>
          {t('brand')}
        </Link>
        {user ? <SignedIn userId={user.id} email={user.email} isAdmin={hasAdminRole(user.role)} /> : <SignedOut />}
        <LanguageSwitcher current={locale} />
      </div>
    </header>
  );
}

async function SignedIn({ userId, email, isAdmin }: { userId: string; email: string; isAdmin: boolean }) {
  const [balance, t] = await Promise.all([getDb().then((db) => getCreditBalance(db, { userId })), getTranslations('header')]);
  return (
    <nav className={styles.nav}>
      {isAdmin && (
        <Link href="/admin" data-testid="admin-link">
          {t('admin')}
        </Link>
      )}
      <Link href="/pricing">{t('pricing')}</Link>
      <Link href="/billing">{t('billing')}</Link>
      <Link href="/credits" className={styles.badge} data-testid="balance-badge" title={t('balanceTitle')}>
        {t('balance', { count: balance })}
      </Link>
      <span className={styles.email}>{email}</span>
      <form action={signOut}>
        <button type="submit" className={styles.linkButton}>
          {t('signOut')}
        </button>
      </form>
    </nav>
  );
}

async function SignedOut() {
  const t = await getTranslations('header');
  return (
    <nav className={styles.nav}>
      <Link href="/pricing">{t('pricing')}</Link>
      <Link href="/sign-in">{t('signIn')}</Link>
      <Link href="/sign-up" className={styles.cta}>
        {t('signUp')}
      </Link>
    </nav>
  );
}
