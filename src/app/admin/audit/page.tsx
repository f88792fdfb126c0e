import type { Metadata } from 'next';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { z } from 'zod';
import { requireAdmin } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { listAdminAudit } from '@/lib/server/usecases/list-admin-audit';
import { getAdminLabels } from '../labels';
import styles from '../admin.module.css';
import table from '@/components/table.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('admin'))('audit.metaTitle') };
}

const querySchema = z.object({ page: z.coerce.number().int().positive().optional().catch(undefined) });

type PageProps = { searchParams: Promise<Record<string, string | string[] | undefined>> };

// GET /admin/audit - every admin action, newest first: who, when, what, on whom, and what came of it.
export default async function AdminAuditPage({ searchParams }: PageProps) {
  await requireAdmin();
  const { page } = querySchema.parse(await searchParams);
  const [list, format, t, labels] = await Promise.all([
    getDb().then((db) => listAdminAudit(db, { page })),
    getRequestFormatters(),
    getTranslations('admin.audit'),
    getAdminLabels(),
  ]);
  return (
    <>
      <h1>{t('title')}</h1>
      <section className={styles.card}>
        {list.rows.length === 0 ? (
          <p className={styles.muted}>{t('none')}</p>
        ) : (
          <div className={table.wrap}>
            <table className={table.table} data-testid="audit">
              <thead>
                <tr>
                  <th scope="col">{t('when')}</th>
                  <th scope="col">{t('admin')}</th>
                  <th scope="col">{t('action')}</th>
                  <th scope="col">{t('target')}</th>
                  <th scope="col">{t('parameters')}</th>
                  <th scope="col">{t('outcome')}</th>
                </tr>
              </thead>
              <tbody>
                {list.rows.map((row) => (
                  <tr key={row.id}>
                    <td>{format.dateTime(row.createdAt)}</td>
                    <td>{row.adminEmail}</td>
                    <td>{labels.action(row.action)}</td>
                    <td className={styles.small}>
                      {row.targetUserId && (
                        <Link href={`/admin/users/${encodeURIComponent(row.targetUserId)}`}>{row.targetEmail ?? row.targetUserId}</Link>
                      )}
                      {row.targetJobRunId && (
                        <Link href={`/admin/jobs/${row.targetJobRunId}`}>{t('run', { id: row.targetJobRunId.slice(0, 8) })}</Link>
                      )}
                    </td>
                    <td className={styles.small}>
                      {Object.entries(row.params)
                        .filter(([name]) => name !== 'userId' && name !== 'jobRunId' && name !== 'continueRunId')
                        .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
                        .join(' ')}
                    </td>
                    <td className={row.outcome?.ok === false ? styles.bad : undefined}>{labels.outcome(row.outcome)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <nav className={styles.pager} aria-label={t('pages')}>
          {list.page > 1 ? <Link href={`/admin/audit?page=${list.page - 1}`}>{t('newer')}</Link> : <span />}
          {list.hasNextPage && <Link href={`/admin/audit?page=${list.page + 1}`}>{t('older')}</Link>}
        </nav>
      </section>
    </>
  );
}
