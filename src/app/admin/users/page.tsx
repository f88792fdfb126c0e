import type { Metadata } from 'next';
import Link from 'next/link';
import { z } from 'zod';
import { hasAdminRole } from '@/lib/server/auth/roles';
import { requireAdmin } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { searchUsers } from '@/lib/server/usecases/search-users';
import styles from '../admin.module.css';
import formStyles from '@/components/form.module.css';
import table from '@/components/table.module.css';

export const metadata: Metadata = { title: 'Admin · Users' };

const querySchema = z.object({ q: z.string().max(320).optional().catch(undefined) });

type PageProps = { searchParams: Promise<Record<string, string | string[] | undefined>> };

// GET /admin/users?q= - find a user by e-mail (or a part of it) or id; without a query, the newest users.
export default async function AdminUsersPage({ searchParams }: PageProps) {
  await requireAdmin();
  const { q = '' } = querySchema.parse(await searchParams);
  const [results, format] = await Promise.all([getDb().then((db) => searchUsers(db, { query: q })), getRequestFormatters()]);
  return (
    <>
      <h1>Users</h1>
      <section className={styles.card}>
        <form className={styles.row} method="get" action="/admin/users">
          <label className={styles.field}>
            E-mail or id
            <input className={formStyles.input} name="q" defaultValue={q} placeholder="alice@example.com" autoFocus />
          </label>
          <button className={formStyles.button} type="submit">
            Search
          </button>
        </form>
      </section>
      <section className={styles.card}>
        <h2>{q ? `Users matching “${q}”` : 'Newest users'}</h2>
        {results.length === 0 ? (
          <p className={styles.muted}>No user matches.</p>
        ) : (
          <div className={table.wrap}>
            <table className={table.table} data-testid="user-results">
              <thead>
                <tr>
                  <th scope="col">E-mail</th>
                  <th scope="col">Name</th>
                  <th scope="col">Signed up</th>
                  <th scope="col" className={table.num}>
                    Balance
                  </th>
                  <th scope="col">Role</th>
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
                      {hasAdminRole(user.role) ? 'admin' : 'user'}
                      {user.banned && <span className={styles.bad}> banned</span>}
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
