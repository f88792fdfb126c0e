import type { Metadata } from 'next';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { notFound } from 'next/navigation';
import { randomUUID } from 'node:crypto';
import { env } from '@/env';
import { requireAdmin } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { getJobRun } from '@/lib/server/usecases/get-job-run';
import { voidJobRun } from '@/lib/server/usecases/void-job-run';
import { ActionForm } from '../../action-form';
import { continueRunAction, voidRunAction } from '../../actions';
import { getCreditLabels } from '@/app/credits/labels';
import styles from '../../admin.module.css';
import formStyles from '@/components/form.module.css';
import table from '@/components/table.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('admin'))('run.metaTitle') };
}
export const maxDuration = 60;

type PageProps = {
  params: Promise<{ runId: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

// GET /admin/jobs/:runId - one run: parameters, results, the entries it wrote; continue; void (preview, then confirm).
export default async function AdminJobRunPage({ params, searchParams }: PageProps) {
  await requireAdmin();
  const { runId } = await params;
  const previewVoid = (await searchParams).preview === 'void';
  const db = await getDb();
  const [details, format, t, labels] = await Promise.all([
    getJobRun(db, { jobRunId: runId }),
    getRequestFormatters(),
    getTranslations('admin.run'),
    getCreditLabels(),
  ]);
  if (!details) notFound();
  const { run, entries, voided } = details;
  // The preview is the void itself as a dry run: what it would take now, written nowhere.
  const preview = previewVoid ? await voidJobRun(db, { jobRunId: run.id, dryRun: true, chunkSize: env().CREDITS_CHUNK_SIZE }) : null;
  const voidable = run.job !== 'expire' && !run.dryRun;

  return (
    <>
      <h1>{t('title', { job: run.job, dryRun: String(run.dryRun) })}</h1>
      <section className={styles.card} data-testid="run-details">
        <h2>{t('run')}</h2>
        <dl className={styles.definitions}>
          <dt>{t('id')}</dt>
          <dd className={styles.small}>{run.id}</dd>
          <dt>{t('status')}</dt>
          <dd data-testid="run-status" className={run.status === 'failed' || run.stale ? styles.bad : undefined}>
            {run.stale ? t('stale') : run.status}
            {voided.entries > 0 && ` · ${t('voided', { credits: voided.credits, users: voided.users })}`}
          </dd>
          <dt>{t('trigger')}</dt>
          <dd>{run.trigger}</dd>
          <dt>{t('started')}</dt>
          <dd>{format.dateTime(run.startedAt)}</dd>
          <dt>{t('duration')}</dt>
          <dd>{run.durationMs === null ? '—' : t('ms', { ms: run.durationMs })}</dd>
          {run.referenceDate && (
            <>
              <dt>{t('grantsFor')}</dt>
              <dd>{run.referenceDate}</dd>
            </>
          )}
          <dt>hasMore</dt>
          <dd>{t(run.hasMore ? 'hasMoreYes' : 'hasMoreNo')}</dd>
          {run.error && (
            <>
              <dt>{t('error')}</dt>
              <dd className={styles.bad}>{run.error}</dd>
            </>
          )}
          <dt>{t('parameters')}</dt>
          <dd>
            <pre className={styles.json}>{JSON.stringify(run.params, null, 2)}</pre>
          </dd>
          <dt>{t('results')}</dt>
          <dd>
            <pre className={styles.json} data-testid="run-results">
              {JSON.stringify(run.results, null, 2)}
            </pre>
          </dd>
        </dl>
        {run.hasMore && !run.dryRun && run.status === 'succeeded' && (
          <ActionForm
            action={continueRunAction}
            idempotencyKey={randomUUID()}
            submitLabel={t('continue')}
            hidden={{ runId: run.id }}
            testId="continue-run"
          />
        )}
      </section>

      <section className={styles.card}>
        <h2>{t('entries.title')}</h2>
        <p data-testid="run-entries">
          {t('entries.summary', {
            count: entries.count,
            credits: entries.credits,
            shown: entries.count > entries.sample.length ? entries.sample.length : -1,
          })}
        </p>
        {entries.sample.length > 0 && (
          <div className={table.wrap}>
            <table className={table.table}>
              <thead>
                <tr>
                  <th scope="col">{t('entries.entry')}</th>
                  <th scope="col">{t('entries.user')}</th>
                  <th scope="col">{t('entries.kind')}</th>
                  <th scope="col" className={table.num}>
                    {t('entries.amount')}
                  </th>
                  <th scope="col">{t('entries.operation')}</th>
                </tr>
              </thead>
              <tbody>
                {entries.sample.map((entry) => (
                  <tr key={entry.id}>
                    <td>{entry.id}</td>
                    <td className={styles.small}>
                      <Link href={`/admin/users/${encodeURIComponent(entry.userId)}`}>{entry.userId}</Link>
                    </td>
                    <td>{labels.kind(entry.kind)}</td>
                    <td className={table.num}>{entry.delta}</td>
                    <td className={styles.small}>{entry.operationKey}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      {voidable && (
        <section className={styles.card} data-testid="void-section">
          <h2>{t('void.title')}</h2>
          <p className={styles.muted}>{t('void.explanation')}</p>
          {!preview ? (
            <Link className={formStyles.secondary} href={`/admin/jobs/${run.id}?preview=void`} data-testid="preview-void">
              {t('void.preview')}
            </Link>
          ) : !preview.ok ? (
            <p className={formStyles.error} data-testid="void-preview">
              {t(`void.refusals.${preview.reason}`)}
            </p>
          ) : (
            <>
              <p data-testid="void-preview">
                {t.rich('void.wouldTake', {
                  credits: preview.results.voidedAmount,
                  batches: preview.results.batches,
                  users: preview.results.users,
                  strong: (chunks) => <strong>{chunks}</strong>,
                })}
              </p>
              {/* Kept after the void (the page re-renders with nothing left to take) so its answer stays on screen; a second void takes nothing. */}
              <ActionForm
                action={voidRunAction}
                idempotencyKey={randomUUID()}
                submitLabel={t('void.submit')}
                hidden={{ runId: run.id }}
                testId="void-run"
              >
                <label className={styles.field}>
                  {t('void.reason')}
                  <input className={formStyles.input} name="reason" required maxLength={500} placeholder={t('void.reasonPlaceholder')} />
                </label>
                <label className={styles.field}>
                  <span>
                    <input type="checkbox" name="confirm" value="yes" required /> {t('void.confirm')}
                  </span>
                </label>
              </ActionForm>
            </>
          )}
        </section>
      )}
    </>
  );
}
