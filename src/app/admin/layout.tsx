import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import Link from 'next/link';
import { requireAdmin } from '@/lib/server/auth/session';
import styles from './admin.module.css';

export const metadata: Metadata = { title: 'Admin', robots: { index: false } };

// The layout's check hides the console's frame; each page and action checks again, since a layout
// guards neither a server action nor a page rendered on its own.
export default async function AdminLayout({ children }: { children: ReactNode }) {
  await requireAdmin();
  return (
    <div className={styles.page}>
      <nav className={styles.nav} aria-label="Admin">
        <Link href="/admin/jobs">Jobs</Link>
        <Link href="/admin/users">Users</Link>
        <Link href="/admin/audit">Audit</Link>
      </nav>
      {children}
    </div>
  );
}
