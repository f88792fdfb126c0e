import Link from 'next/link';
import { signOut } from '@/app/(auth)/actions';
import { getCurrentUser } from '@/lib/server/auth/session';
import { hasAdminRole } from '@/lib/server/auth/roles';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { getCreditBalance } from '@/lib/server/usecases/get-credit-balance';
import styles from './app-header.module.css';

/** The bar on every page: the balance badge and sign-out for a signed-in user, sign-in links for anyone else. */
export async function AppHeader() {
  const user = await getCurrentUser();
  return (
    <header className={styles.header}>
      <div className={styles.inner}>
        <Link href="/" className={styles.brand}>
          Credits Starter
        </Link>
        {user ? <SignedIn userId={user.id} email={user.email} isAdmin={hasAdminRole(user.role)} /> : <SignedOut />}
      </div>
    </header>
  );
}

async function SignedIn({ userId, email, isAdmin }: { userId: string; email: string; isAdmin: boolean }) {
  const [balance, format] = await Promise.all([getDb().then((db) => getCreditBalance(db, { userId })), getRequestFormatters()]);
  return (
    <nav className={styles.nav}>
      {isAdmin && (
        <Link href="/admin" data-testid="admin-link">
          Admin
        </Link>
      )}
      <Link href="/pricing">Pricing</Link>
      <Link href="/billing">Billing</Link>
      <Link href="/credits" className={styles.badge} data-testid="balance-badge" title="Your credit balance">
        {format.credits(balance)} credits
      </Link>
      <span className={styles.email}>{email}</span>
      <form action={signOut}>
        <button type="submit" className={styles.linkButton}>
          Sign out
        </button>
      </form>
    </nav>
  );
}

function SignedOut() {
  return (
    <nav className={styles.nav}>
      <Link href="/pricing">Pricing</Link>
      <Link href="/sign-in">Sign in</Link>
      <Link href="/sign-up" className={styles.cta}>
        Sign up
      </Link>
    </nav>
  );
}
