import type { Metadata } from 'next';
import Link from 'next/link';
import { z } from 'zod';
import { requireAdmin } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { listAdminAudit } from '@/lib/server/usecases/list-admin-audit';
import { actionLabels, describeOutcome } from '../labels';
import styles from '../admin.module.css';
import table from '@/components/table.module.css';

export const metadata: Metadata = { title: 'Admin · Audit' };

const querySchema = z.object({ page: z.coerce.number().int().positive().optional().catch(undefined) });

type PageProps = { searchParams: Promise<Record<string, string | string[] | undefined>> };

// GET /admin/audit - every admin action, newest first: who, when, what, on whom, and what came of it.
export default async function AdminAuditPage({ searchParams }: PageProps) {
  await requireAdmin();
  const { page } = querySchema.parse(await searchParams);
  const [list, format] = await Promise.all([getDb().then((db) => listAdminAudit(db, { page })), getRequestFormatters()]);
  return (
    <>
      <h1>Audit trail</h1>
      <section className={styles.card}>
        {list.rows.length === 0 ? (
          <p className={styles.muted}>No admin action yet.</p>
        ) : (
          <div className={table.wrap}>
            <table className={table.table} data-testid="audit">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Admin</th>
                  <th scope="col">Action</th>
                  <th scope="col">On</th>
                  <th scope="col">Parameters</th>
                  <th scope="col">Outcome</th>
                </tr>
              </thead>
              <tbody>
                {list.rows.map((row) => (
                  <tr key={row.id}>
                    <td>{format.dateTime(row.createdAt)}</td>
                    <td>{row.adminEmail}</td>
                    <td>{actionLabels[row.action]}</td>
                    <td className={styles.small}>
                      {row.targetUserId && (
                        <Link href={`/admin/users/${encodeURIComponent(row.targetUserId)}`}>{row.targetEmail ?? row.targetUserId}</Link>
                      )}
                      {row.targetJobRunId && <Link href={`/admin/jobs/${row.targetJobRunId}`}>run {row.targetJobRunId.slice(0, 8)}</Link>}
                    </td>
                    <td className={styles.small}>
                      {Object.entries(row.params)
                        .filter(([name]) => name !== 'userId' && name !== 'jobRunId' && name !== 'continueRunId')
                        .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
                        .join(' ')}
                    </td>
                    <td className={row.outcome?.ok === false ? styles.bad : undefined}>{describeOutcome(row.outcome)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <nav className={styles.pager} aria-label="Audit pages">
          {list.page > 1 ? <Link href={`/admin/audit?page=${list.page - 1}`}>← Newer</Link> : <span />}
          {list.hasNextPage && <Link href={`/admin/audit?page=${list.page + 1}`}>Older →</Link>}
        </nav>
      </section>
    </>
  );
}
