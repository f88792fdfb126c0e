import type { Metadata } from 'next';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { creditsConfig } from '@/config/credits';
import type { Formatters } from '@/lib/format';
import { requireUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { getCreditHistory, type CreditHistoryEntry } from '@/lib/server/usecases/get-credit-history';
import { getCreditSummary, type CreditSummary } from '@/lib/server/usecases/get-credit-summary';
import { getExpiryNotices } from '@/lib/server/usecases/get-expiry-notices';
import { MAX_DEMO_RUNS } from './demo';
import { getCreditLabels } from './labels';
import { SpendForm } from './spend-form';
import { ExpiryNoticesForm } from './expiry-notices-form';
import styles from './credits.module.css';
import table from '@/components/table.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('credits'))('title') };
}

const PAGE_SIZE = 20;

// A cursor that is not a positive whole number is ignored: the page shows the newest entries.
const querySchema = z.object({ cursor: z.coerce.number().int().positive().optional().catch(undefined) });

type PageProps = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function CreditsPage({ searchParams }: PageProps) {
  const user = await requireUser();
  const { cursor } = querySchema.parse(await searchParams);
  const db = await getDb();
  const [summary, history, format, expiryNotices, t] = await Promise.all([
    getCreditSummary(db, { userId: user.id }),
    getCreditHistory(db, { userId: user.id, cursor, pageSize: PAGE_SIZE }),
    getRequestFormatters(),
    getExpiryNotices(db, { userId: user.id }),
    getTranslations('credits'),
  ]);

  return (
    <div className={styles.page}>
      <h1>{t('title')}</h1>
      <div className={styles.cards}>
        <BalanceCard summary={summary} format={format} />
        <ExpiryCard summary={summary} format={format} />
        <NextGrantCard summary={summary} format={format} />
      </div>

      <section className={styles.card}>
        <h2>{t('demo.title')}</h2>
        <p className={styles.muted}>{t.rich('demo.intro', { code: (chunks) => <code>{chunks}</code> })}</p>
        <SpendForm idempotencyKey={randomUUID()} cost={creditsConfig.demoActionCost} maxRuns={MAX_DEMO_RUNS} />
      </section>

      <section className={styles.card}>
        <h2>{t('expiryNotices.title')}</h2>
        <ExpiryNoticesForm enabled={expiryNotices} daysAhead={creditsConfig.expiryNotices.daysAhead} />
      </section>

      <section className={styles.card}>
        <h2>{t('history.title')}</h2>
        <History entries={history.entries} firstPage={!cursor} format={format} />
        <nav className={styles.pager} aria-label={t('history.pages')}>
          {cursor ? <Link href="/credits">{t('history.newest')}</Link> : <span />}
          {history.nextCursor && <Link href={`/credits?cursor=${history.nextCursor}`}>{t('history.older')}</Link>}
        </nav>
      </section>
    </div>
  );
}

async function BalanceCard({ summary, format }: { summary: CreditSummary; format: Formatters }) {
  const t = await getTranslations('credits.balance');
  return (
    <section className={styles.card}>
      <h2>{t('title')}</h2>
      <p className={styles.big} data-testid="balance">
        {format.credits(summary.balance)}
      </p>
      {summary.held > 0 && (
        <p className={styles.muted} data-testid="held">
          {t('held', { count: summary.held })}
        </p>
      )}
      {summary.available !== summary.balance && <p className={styles.muted}>{t('spendable', { count: summary.available })}</p>}
      {summary.balance === 0 ? (
        <p className={styles.muted}>{t('empty')}</p>
      ) : (
        <p className={styles.muted}>
          {t('totals', { granted: summary.totals.granted, spent: summary.totals.consumed, expired: summary.totals.expired })}
        </p>
      )}
    </section>
  );
}

async function ExpiryCard({ summary, format }: { summary: CreditSummary; format: Formatters }) {
  const { nextExpiry, expiringWithin30Days } = summary;
  const t = await getTranslations('credits.expiry');
  return (
    <section className={styles.card} data-testid="expiry">
      <h2>{t('title')}</h2>
      {nextExpiry ? (
        <p>
          {t.rich('next', {
            count: nextExpiry.amount,
            strong: (chunks) => <strong>{chunks}</strong>,
            date: format.dateTime(nextExpiry.date),
            time: (chunks) => <time dateTime={nextExpiry.date.toISOString()}>{chunks}</time>,
          })}
        </p>
      ) : (
        <p>{t('none')}</p>
      )}
      <p className={styles.muted}>{t('within30Days', { count: expiringWithin30Days })}</p>
    </section>
  );
}

async function NextGrantCard({ summary, format }: { summary: CreditSummary; format: Formatters }) {
  const grant = summary.nextGrant;
  const [t, labels] = await Promise.all([getTranslations('credits.nextGrant'), getCreditLabels()]);
  return (
    <section className={styles.card} data-testid="next-grant">
      <h2>{t('title')}</h2>
      {grant ? (
        <>
          <p>
            {t.rich('next', {
              count: grant.amount,
              strong: (chunks) => <strong>{chunks}</strong>,
              date: format.dateTime(grant.date),
              time: (chunks) => <time dateTime={grant.date.toISOString()}>{chunks}</time>,
            })}
          </p>
          <p className={styles.muted}>{labels.describeNextGrant(grant)}</p>
        </>
      ) : (
        <p className={styles.muted}>{t('none')}</p>
      )}
    </section>
  );
}

async function History({ entries, firstPage, format }: { entries: CreditHistoryEntry[]; firstPage: boolean; format: Formatters }) {
  const [t, labels] = await Promise.all([getTranslations('credits.history'), getCreditLabels()]);
  if (entries.length === 0) {
    return firstPage ? (
      <p className={styles.empty}>{t('empty')}</p>
    ) : (
      <p className={styles.empty}>{t.rich('noOlder', { link: (chunks) => <Link href="/credits">{chunks}</Link> })}</p>
    );
  }
  return (
    <div className={table.wrap}>
      <table className={table.table} data-testid="history">
        <thead>
          <tr>
            <th scope="col">{t('date')}</th>
            <th scope="col">{t('kind')}</th>
            <th scope="col" className={table.num}>
              {t('amount')}
            </th>
            <th scope="col" className={table.num}>
              {t('balanceAfter')}
            </th>
            <th scope="col">{t('source')}</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => {
            const reason = typeof entry.metadata?.reason === 'string' ? entry.metadata.reason : null;
            // A refund's entries name the payment they belong to (`stripe:in_…`), as the billing page lists it.
            const payment = entry.kind === 'revoke' && typeof entry.metadata?.paymentId === 'string' ? entry.metadata.paymentId : null;
            // A capture moves nothing (its credits left the balance when they were reserved): it shows what it kept, in brackets.
            const captured = entry.kind === 'capture' && typeof entry.metadata?.captured === 'number' ? entry.metadata.captured : null;
            return (
              <tr key={entry.id}>
                <td>
                  <time dateTime={entry.createdAt.toISOString()}>{format.dateTime(entry.createdAt)}</time>
                </td>
                <td>
                  {labels.kind(entry.kind)}
                  {reason && <span className={styles.reason}>{labels.reason(reason)}</span>}
                  {payment && <span className={styles.reason}>{t('payment', { payment })}</span>}
                </td>
                {captured !== null ? (
                  <td className={`${table.num} ${styles.muted}`} title={t('capturedTitle')}>
                    ({format.credits(captured)})
                  </td>
                ) : (
                  <td className={`${table.num} ${entry.delta > 0 ? styles.plus : styles.minus}`}>
                    {entry.delta > 0 ? '+' : '−'}
                    {format.credits(Math.abs(entry.delta))}
                  </td>
                )}
                <td className={table.num}>{format.credits(entry.balanceAfter)}</td>
                <td>{entry.source ? labels.source(entry.source) : '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
