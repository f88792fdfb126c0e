import type { Metadata } from 'next';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { requireAdmin } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { jobRuns } from '@/lib/server/db/schema';
import { jobNames } from '@/lib/server/jobs/catalog';
import { getRequestFormatters } from '@/lib/server/request-format';
import { getJobsHealth } from '@/lib/server/usecases/get-jobs-health';
import { listJobRuns } from '@/lib/server/usecases/list-job-runs';
import { ActionForm } from '../action-form';
import { runJobAction } from '../actions';
import { countsOf } from '../labels';
import styles from '../admin.module.css';
import formStyles from '@/components/form.module.css';
import table from '@/components/table.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('admin'))('jobs.metaTitle') };
}
// A run started from this page is one call of the job, bounded by CRON_TIME_BUDGET_MS (20 s by default).
export const maxDuration = 60;

const statuses = jobRuns.status.enumValues;
// A filter or page that does not parse is ignored: the page shows every run, newest first.
const querySchema = z.object({
  job: z
    .enum(jobNames as [string, ...string[]])
    .optional()
    .catch(undefined),
  status: z.enum(statuses).optional().catch(undefined),
  page: z.coerce.number().int().positive().optional().catch(undefined),
});

type PageProps = { searchParams: Promise<Record<string, string | string[] | undefined>> };

// GET /admin/jobs - did last night's runs work: health, run now / dry run, and the runs table.
export default async function AdminJobsPage({ searchParams }: PageProps) {
  await requireAdmin();
  const query = querySchema.parse(await searchParams);
  const db = await getDb();
  const [health, list, format, t] = await Promise.all([
    getJobsHealth(db),
    listJobRuns(db, { job: query.job as (typeof jobNames)[number] | undefined, status: query.status, page: query.page }),
    getRequestFormatters(),
    getTranslations('admin.jobs'),
  ]);
  const pageHref = (page: number) =>
    `/admin/jobs?${new URLSearchParams({ ...(query.job ? { job: query.job } : {}), ...(query.status ? { status: query.status } : {}), page: String(page) })}`;

  return (
    <>
      <h1>{t('title')}</h1>
      <section className={styles.card} data-testid="jobs-health">
        <h2>
          {t('health')} <span className={health.status === 'ok' ? styles.good : styles.bad}>{health.status}</span>
        </h2>
        <div className={table.wrap}>
          <table className={table.table}>
            <thead>
              <tr>
                <th scope="col">{t('job')}</th>
                <th scope="col">{t('lastSuccess')}</th>
                <th scope="col">{t('lastRun')}</th>
                <th scope="col">{t('state')}</th>
                <th scope="col">{t('run')}</th>
              </tr>
            </thead>
            <tbody>
              {jobNames.map((job) => {
                const h = health.jobs[job];
                return (
                  <tr key={job}>
                    <td>
                      <strong>{job}</strong>
                      <span className={styles.jobDescription}>{t(`descriptions.${job}`)}</span>
                    </td>
                    <td>{h.lastSuccessAt ? format.dateTime(new Date(h.lastSuccessAt)) : t('never')}</td>
                    <td>
                      {h.lastRunAt ? format.dateTime(new Date(h.lastRunAt)) : '—'} {h.lastRunStatus && `(${h.lastRunStatus})`}
                    </td>
                    <td>
                      {h.stale ? <span className={styles.bad}>{t('stale', { hours: health.staleAfterHours })}</span> : t('ok')}
                      {h.workLeft && <span className={styles.muted}> · {t('workLeft')}</span>}
                    </td>
                    <td>
                      <ActionForm
                        action={runJobAction}
                        idempotencyKey={randomUUID()}
                        submitLabel={t('runNow')}
                        hidden={{ job, dryRun: 'false' }}
                        testId={`run-${job}`}
                      />
                      <ActionForm
                        action={runJobAction}
                        idempotencyKey={randomUUID()}
                        submitLabel={t('dryRun')}
                        hidden={{ job, dryRun: 'true' }}
                        secondary
                        testId={`dry-run-${job}`}
                      />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <p className={styles.muted}>
          {t('overdue', {
            count: health.overdueSchedules,
            oldest: health.oldestOverdueAt ? format.dateTime(new Date(health.oldestOverdueAt)) : 'none',
          })}{' '}
          {health.note}
        </p>
      </section>

      <section className={styles.card}>
        <h2>{t('runs')}</h2>
        <form className={styles.row} method="get" action="/admin/jobs">
          <label className={styles.field}>
            {t('job')}
            <select className={formStyles.input} name="job" defaultValue={query.job ?? ''}>
              <option value="">{t('all')}</option>
              {jobNames.map((job) => (
                <option key={job}>{job}</option>
              ))}
            </select>
          </label>
          <label className={styles.field}>
            {t('status')}
            <select className={formStyles.input} name="status" defaultValue={query.status ?? ''}>
              <option value="">{t('all')}</option>
              {statuses.map((status) => (
                <option key={status}>{status}</option>
              ))}
            </select>
          </label>
          <button className={formStyles.secondary} type="submit">
            {t('filter')}
          </button>
        </form>
        {list.runs.length === 0 ? (
          <p className={styles.muted}>{t(query.job || query.status ? 'noMatchingRuns' : 'noRuns')}</p>
        ) : (
          <div className={table.wrap}>
            <table className={table.table} data-testid="job-runs">
              <thead>
                <tr>
                  <th scope="col">{t('started')}</th>
                  <th scope="col">{t('job')}</th>
                  <th scope="col">{t('trigger')}</th>
                  <th scope="col" className={table.num}>
                    {t('duration')}
                  </th>
                  <th scope="col">{t('status')}</th>
                  <th scope="col">{t('counts')}</th>
                  <th scope="col">hasMore</th>
                  <th scope="col">{t('error')}</th>
                </tr>
              </thead>
              <tbody>
                {list.runs.map((run) => (
                  <tr key={run.id}>
                    <td>
                      <Link href={`/admin/jobs/${run.id}`}>{format.dateTime(run.startedAt)}</Link>
                    </td>
                    <td>
                      {run.job}
                      {run.dryRun && <span className={styles.muted}> {t('dryRunTag')}</span>}
                    </td>
                    <td>{run.trigger}</td>
                    <td className={table.num}>{run.durationMs === null ? '—' : t('ms', { ms: run.durationMs })}</td>
                    <td className={run.status === 'failed' || run.stale ? styles.bad : undefined}>
                      {run.stale ? t('staleRunning') : run.status}
                    </td>
                    <td className={styles.small}>{countsOf(run.results)}</td>
                    <td>{run.hasMore ? t('yes') : ''}</td>
                    <td className={styles.small}>{run.error?.slice(0, 120)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <nav className={styles.pager} aria-label={t('pages')}>
          {list.page > 1 ? <Link href={pageHref(list.page - 1)}>{t('newer')}</Link> : <span />}
          {list.hasNextPage && <Link href={pageHref(list.page + 1)}>{t('older')}</Link>}
        </nav>
      </section>
    </>
  );
}
