import type { Metadata } from 'next';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { z } from 'zod';
import { hasAdminRole } from '@/lib/server/auth/roles';
import { requireAdmin } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { searchUsers } from '@/lib/server/usecases/search-users';
import styles from '../admin.module.css';
import formStyles from '@/components/form.module.css';
import table from '@/components/table.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('admin'))('users.metaTitle') };
}

const querySchema = z.object({ q: z.string().max(320).optional().catch(undefined) });

type PageProps = { searchParams: Promise<Record<string, string | string[] | undefined>> };

// GET /admin/users?q= - find a user by e-mail (or a part of it) or id; without a query, the newest users.
export default async function AdminUsersPage({ searchParams }: PageProps) {
  await requireAdmin();
  const { q = '' } = querySchema.parse(await searchParams);
  const [results, format, t] = await Promise.all([
    getDb().then((db) => searchUsers(db, { query: q })),
    getRequestFormatters(),
    getTranslations('admin.users'),
  ]);
  return (
    <>
      <h1>{t('title')}</h1>
      <section className={styles.card}>
        <form className={styles.row} method="get" action="/admin/users">
          <label className={styles.field}>
            {t('query')}
            <input className={formStyles.input} name="q" defaultValue={q} placeholder="alice@example.com" autoFocus />
          </label>
          <button className={formStyles.button} type="submit">
            {t('search')}
          </button>
        </form>
      </section>
      <section className={styles.card}>
        <h2>{q ? t('matching', { query: q }) : t('newest')}</h2>
        {results.length === 0 ? (
          <p className={styles.muted}>{t('none')}</p>
        ) : (
          <div className={table.wrap}>
            <table className={table.table} data-testid="user-results">
              <thead>
                <tr>
                  <th scope="col">{t('email')}</th>
                  <th scope="col">{t('name')}</th>
                  <th scope="col">{t('signedUp')}</th>
                  <th scope="col" className={table.num}>
                    {t('balance')}
                  </th>
                  <th scope="col">{t('role')}</th>
                </tr>
              </thead>
              <tbody>
                {results.map((user) => (
                  <tr key={user.id}>
                    <td>
                      <Link href={`/admin/users/${encodeURIComponent(user.id)}`}>{user.email}</Link>
                    </td>
                    <td>{user.name}</td>
                    <td>{format.dateTime(user.createdAt)}</td>
                    <td className={table.num}>{format.credits(user.balance ?? 0)}</td>
                    <td>
                      {t(hasAdminRole(user.role) ? 'roles.admin' : 'roles.user')}
                      {user.banned && <span className={styles.bad}> {t('banned')}</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
