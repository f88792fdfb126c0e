import type { Metadata } from 'next';
import Link from 'next/link';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { requireAdmin } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { jobRuns } from '@/lib/server/db/schema';
import { jobCatalog, jobNames } from '@/lib/server/jobs/catalog';
import { getRequestFormatters } from '@/lib/server/request-format';
import { getJobsHealth } from '@/lib/server/usecases/get-jobs-health';
import { listJobRuns } from '@/lib/server/usecases/list-job-runs';
import { ActionForm } from '../action-form';
import { runJobAction } from '../actions';
import { countsOf } from '../labels';
import styles from '../admin.module.css';
import formStyles from '@/components/form.module.css';
import table from '@/components/table.module.css';

export const metadata: Metadata = { title: 'Admin · Jobs' };
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
  const [health, list, format] = await Promise.all([
    getJobsHealth(db),
    listJobRuns(db, { job: query.job as (typeof jobNames)[number] | undefined, status: query.status, page: query.page }),
    getRequestFormatters(),
  ]);
  const pageHref = (page: number) =>
    `/admin/jobs?${new URLSearchParams({ ...(query.job ? { job: query.job } : {}), ...(query.status ? { status: query.status } : {}), page: String(page) })}`;

  return (
    <>
      <h1>Jobs</h1>
      <section className={styles.card} data-testid="jobs-health">
        <h2>
          Health: <span className={health.status === 'ok' ? styles.good : styles.bad}>{health.status}</span>
        </h2>
        <div className={table.wrap}>
          <table className={table.table}>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Last success</th>
                <th scope="col">Last run</th>
                <th scope="col">State</th>
                <th scope="col">Run</th>
              </tr>
            </thead>
            <tbody>
              {jobNames.map((job) => {
                const h = health.jobs[job];
                return (
                  <tr key={job}>
                    <td>
                      <strong>{job}</strong>
                      <span className={`${styles.muted} ${styles.small}`} style={{ display: 'block' }}>
                        {jobCatalog[job].description}
                      </span>
                    </td>
                    <td>{h.lastSuccessAt ? format.dateTime(new Date(h.lastSuccessAt)) : 'never'}</td>
                    <td>
                      {h.lastRunAt ? format.dateTime(new Date(h.lastRunAt)) : '—'} {h.lastRunStatus && `(${h.lastRunStatus})`}
                    </td>
                    <td>
                      {h.stale ? <span className={styles.bad}>stale: no success for {health.staleAfterHours} h</span> : 'ok'}
                      {h.workLeft && <span className={styles.muted}> · work left (hasMore)</span>}
                    </td>
                    <td>
                      <ActionForm
                        action={runJobAction}
                        idempotencyKey={randomUUID()}
                        submitLabel="Run now"
                        hidden={{ job, dryRun: 'false' }}
                        testId={`run-${job}`}
                      />
                      <ActionForm
                        action={runJobAction}
                        idempotencyKey={randomUUID()}
                        submitLabel="Dry run"
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
          Overdue installments: {health.overdueSchedules}
          {health.oldestOverdueAt && `, the oldest due ${format.dateTime(new Date(health.oldestOverdueAt))}`}. {health.note}
        </p>
      </section>

      <section className={styles.card}>
        <h2>Runs</h2>
        <form className={styles.row} method="get" action="/admin/jobs">
          <label className={styles.field}>
            Job
            <select className={formStyles.input} name="job" defaultValue={query.job ?? ''}>
              <option value="">all</option>
              {jobNames.map((job) => (
                <option key={job}>{job}</option>
              ))}
            </select>
          </label>
          <label className={styles.field}>
            Status
            <select className={formStyles.input} name="status" defaultValue={query.status ?? ''}>
              <option value="">all</option>
              {statuses.map((status) => (
                <option key={status}>{status}</option>
              ))}
            </select>
          </label>
          <button className={formStyles.secondary} type="submit">
            Filter
          </button>
        </form>
        {list.runs.length === 0 ? (
          <p className={styles.muted}>
            No runs{query.job || query.status ? ' match these filters' : ' yet: the cron routes have not been called'}.
          </p>
        ) : (
          <div className={table.wrap}>
            <table className={table.table} data-testid="job-runs">
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Job</th>
                  <th scope="col">Trigger</th>
                  <th scope="col" className={table.num}>
                    Duration
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col">Counts</th>
                  <th scope="col">hasMore</th>
                  <th scope="col">Error</th>
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
                      {run.dryRun && <span className={styles.muted}> (dry run)</span>}
                    </td>
                    <td>{run.trigger}</td>
                    <td className={table.num}>{run.durationMs === null ? '—' : `${run.durationMs} ms`}</td>
                    <td className={run.status === 'failed' || run.stale ? styles.bad : undefined}>
                      {run.stale ? 'STALE running' : run.status}
                    </td>
                    <td className={styles.small}>{countsOf(run.results)}</td>
                    <td>{run.hasMore ? 'yes' : ''}</td>
                    <td className={styles.small}>{run.error?.slice(0, 120)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <nav className={styles.pager} aria-label="Run pages">
          {list.page > 1 ? <Link href={pageHref(list.page - 1)}>← Newer runs</Link> : <span />}
          {list.hasNextPage && <Link href={pageHref(list.page + 1)}>Older runs →</Link>}
        </nav>
      </section>
    </>
  );
}
