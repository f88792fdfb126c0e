import type { Metadata } from 'next';
import Link from 'next/link';
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
import { ledgerKindLabel } from '../../labels';
import styles from '../../admin.module.css';
import formStyles from '@/components/form.module.css';
import table from '@/components/table.module.css';

export const metadata: Metadata = { title: 'Admin · Job run' };
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
  const [details, format] = await Promise.all([getJobRun(db, { jobRunId: runId }), getRequestFormatters()]);
  if (!details) notFound();
  const { run, entries, voided } = details;
  // The preview is the void itself as a dry run: what it would take now, written nowhere.
  const preview = previewVoid ? await voidJobRun(db, { jobRunId: run.id, dryRun: true, chunkSize: env().CREDITS_CHUNK_SIZE }) : null;
  const voidable = run.job !== 'expire' && !run.dryRun;

  return (
    <>
      <h1>
        {run.job} run{run.dryRun && ' (dry run)'}
      </h1>
      <section className={styles.card} data-testid="run-details">
        <h2>Run</h2>
        <dl className={styles.definitions}>
          <dt>Id</dt>
          <dd className={styles.small}>{run.id}</dd>
          <dt>Status</dt>
          <dd data-testid="run-status" className={run.status === 'failed' || run.stale ? styles.bad : undefined}>
            {run.stale ? 'STALE running (its process died)' : run.status}
            {voided.entries > 0 && ` · voided: ${format.credits(voided.credits)} credits taken back from ${voided.users} users`}
          </dd>
          <dt>Trigger</dt>
          <dd>{run.trigger}</dd>
          <dt>Started</dt>
          <dd>{format.dateTime(run.startedAt)}</dd>
          <dt>Duration</dt>
          <dd>{run.durationMs === null ? '—' : `${run.durationMs} ms`}</dd>
          {run.referenceDate && (
            <>
              <dt>Grants for</dt>
              <dd>{run.referenceDate}</dd>
            </>
          )}
          <dt>hasMore</dt>
          <dd>{run.hasMore ? 'yes: work was left for another call' : 'no'}</dd>
          {run.error && (
            <>
              <dt>Error</dt>
              <dd className={styles.bad}>{run.error}</dd>
            </>
          )}
          <dt>Parameters</dt>
          <dd>
            <pre className={styles.json}>{JSON.stringify(run.params, null, 2)}</pre>
          </dd>
          <dt>Results</dt>
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
            submitLabel="Continue this run"
            hidden={{ runId: run.id }}
            testId="continue-run"
          />
        )}
      </section>

      <section className={styles.card}>
        <h2>Ledger entries it wrote</h2>
        <p data-testid="run-entries">
          {format.credits(entries.count)} entries, {format.credits(entries.credits)} credits in all
          {entries.count > entries.sample.length && ` (the first ${entries.sample.length} below)`}.
        </p>
        {entries.sample.length > 0 && (
          <div className={table.wrap}>
            <table className={table.table}>
              <thead>
                <tr>
                  <th scope="col">Entry</th>
                  <th scope="col">User</th>
                  <th scope="col">Kind</th>
                  <th scope="col" className={table.num}>
                    Amount
                  </th>
                  <th scope="col">Operation</th>
                </tr>
              </thead>
              <tbody>
                {entries.sample.map((entry) => (
                  <tr key={entry.id}>
                    <td>{entry.id}</td>
                    <td className={styles.small}>
                      <Link href={`/admin/users/${encodeURIComponent(entry.userId)}`}>{entry.userId}</Link>
                    </td>
                    <td>{ledgerKindLabel(entry.kind)}</td>
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
          <h2>Void this run</h2>
          <p className={styles.muted}>
            Takes back what this run granted and nobody has spent, as “void” entries; spent credits stay spent, nothing is deleted, and the
            jobs will not grant the same periods again.
          </p>
          {!preview ? (
            <Link className={formStyles.secondary} href={`/admin/jobs/${run.id}?preview=void`} data-testid="preview-void">
              Preview the void
            </Link>
          ) : !preview.ok ? (
            <p className={formStyles.error} data-testid="void-preview">
              {preview.message}
            </p>
          ) : (
            <>
              <p data-testid="void-preview">
                Voiding now would take <strong>{format.credits(preview.results.voidedAmount)} credits</strong> from{' '}
                {preview.results.batches} batches of {preview.results.users} users.
              </p>
              {/* Kept after the void (the page re-renders with nothing left to take) so its answer stays on screen; a second void takes nothing. */}
              <ActionForm
                action={voidRunAction}
                idempotencyKey={randomUUID()}
                submitLabel="Void the run"
                hidden={{ runId: run.id }}
                testId="void-run"
              >
                <label className={styles.field}>
                  Reason
                  <input className={formStyles.input} name="reason" required maxLength={500} placeholder="wrong amount in pro-monthly" />
                </label>
                <label className={styles.field}>
                  <span>
                    <input type="checkbox" name="confirm" value="yes" required /> I have read the preview: void it
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
