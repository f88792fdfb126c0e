import type { Metadata } from 'next';
import Link from 'next/link';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { creditsConfig } from '@/config/credits';
import type { Formatters } from '@/lib/format';
import { requireUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { getCreditHistory, type CreditHistoryEntry } from '@/lib/server/usecases/get-credit-history';
import { getCreditSummary, type CreditSummary } from '@/lib/server/usecases/get-credit-summary';
import { MAX_DEMO_RUNS } from './demo';
import { describeNextGrant, kindLabels, reasonLabels, sourceLabels } from './labels';
import { SpendForm } from './spend-form';
import styles from './credits.module.css';
import table from '@/components/table.module.css';

export const metadata: Metadata = { title: 'Your credits' };

const PAGE_SIZE = 20;

// A cursor that is not a positive whole number is ignored: the page shows the newest entries.
const querySchema = z.object({ cursor: z.coerce.number().int().positive().optional().catch(undefined) });

type PageProps = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function CreditsPage({ searchParams }: PageProps) {
  const user = await requireUser();
  const { cursor } = querySchema.parse(await searchParams);
  const db = await getDb();
  const [summary, history, format] = await Promise.all([
    getCreditSummary(db, { userId: user.id }),
    getCreditHistory(db, { userId: user.id, cursor, pageSize: PAGE_SIZE }),
    getRequestFormatters(),
  ]);

  return (
    <div className={styles.page}>
      <h1>Your credits</h1>
      <div className={styles.cards}>
        <BalanceCard summary={summary} format={format} />
        <ExpiryCard summary={summary} format={format} />
        <NextGrantCard summary={summary} format={format} />
      </div>

      <section className={styles.card}>
        <h2>Try it: spend credits</h2>
        <p className={styles.muted}>
          A stand-in for a feature of your product that costs credits (it runs through <code>withCredits</code>). Each click spends once,
          even if the form is sent twice.
        </p>
        <SpendForm idempotencyKey={randomUUID()} cost={format.credits(creditsConfig.demoActionCost)} maxRuns={MAX_DEMO_RUNS} />
      </section>

      <section className={styles.card}>
        <h2>History</h2>
        <History entries={history.entries} firstPage={!cursor} format={format} />
        <nav className={styles.pager} aria-label="History pages">
          {cursor ? <Link href="/credits">← Newest entries</Link> : <span />}
          {history.nextCursor && <Link href={`/credits?cursor=${history.nextCursor}`}>Older entries →</Link>}
        </nav>
      </section>
    </div>
  );
}

const plural = (n: number, format: Formatters) => `${format.credits(n)} ${n === 1 ? 'credit' : 'credits'}`;

function BalanceCard({ summary, format }: { summary: CreditSummary; format: Formatters }) {
  return (
    <section className={styles.card}>
      <h2>Balance</h2>
      <p className={styles.big} data-testid="balance">
        {format.credits(summary.balance)}
      </p>
      {summary.held > 0 && (
        <p className={styles.muted} data-testid="held">
          {plural(summary.held, format)} held by work in progress: spent if it succeeds, given back if it fails.
        </p>
      )}
      {summary.available !== summary.balance && (
        <p className={styles.muted}>
          {plural(summary.available, format)} spendable right now; the rest has expired and will be cleared tonight.
        </p>
      )}
      {summary.balance === 0 ? (
        <p className={styles.muted}>You have no credits left. New ones arrive with your next grant, shown on the right.</p>
      ) : (
        <p className={styles.muted}>
          {format.credits(summary.totals.granted)} granted · {format.credits(summary.totals.consumed)} spent ·{' '}
          {format.credits(summary.totals.expired)} expired
        </p>
      )}
    </section>
  );
}

function ExpiryCard({ summary, format }: { summary: CreditSummary; format: Formatters }) {
  const { nextExpiry, expiringWithin30Days } = summary;
  return (
    <section className={styles.card} data-testid="expiry">
      <h2>Expiring</h2>
      {nextExpiry ? (
        <p>
          <strong>{plural(nextExpiry.amount, format)}</strong> {nextExpiry.amount === 1 ? 'expires' : 'expire'} on{' '}
          <time dateTime={nextExpiry.date.toISOString()}>{format.dateTime(nextExpiry.date)}</time>
        </p>
      ) : (
        <p>None of your credits expire.</p>
      )}
      <p className={styles.muted}>
        {expiringWithin30Days > 0
          ? `${plural(expiringWithin30Days, format)} in total expire within the next 30 days: spend them first.`
          : 'Nothing expires in the next 30 days.'}
      </p>
    </section>
  );
}

function NextGrantCard({ summary, format }: { summary: CreditSummary; format: Formatters }) {
  const grant = summary.nextGrant;
  return (
    <section className={styles.card} data-testid="next-grant">
      <h2>Next grant</h2>
      {grant ? (
        <>
          <p>
            <strong>{plural(grant.amount, format)}</strong> on{' '}
            <time dateTime={grant.date.toISOString()}>{format.dateTime(grant.date)}</time>
          </p>
          <p className={styles.muted}>{describeNextGrant(grant)}</p>
        </>
      ) : (
        <p className={styles.muted}>No grant is scheduled. Subscribe to a plan or buy a credit pack to get more credits.</p>
      )}
    </section>
  );
}

function History({ entries, firstPage, format }: { entries: CreditHistoryEntry[]; firstPage: boolean; format: Formatters }) {
  if (entries.length === 0) {
    return firstPage ? (
      <p className={styles.empty}>
        No credit movements yet. Every grant, spend and expiry will be listed here: try the demo action above to see one.
      </p>
    ) : (
      <p className={styles.empty}>
        No older entries. <Link href="/credits">Go back to the newest ones.</Link>
      </p>
    );
  }
  return (
    <div className={table.wrap}>
      <table className={table.table} data-testid="history">
        <thead>
          <tr>
            <th scope="col">Date</th>
            <th scope="col">Kind</th>
            <th scope="col" className={table.num}>
              Amount
            </th>
            <th scope="col" className={table.num}>
              Balance after
            </th>
            <th scope="col">Source</th>
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
                  {kindLabels[entry.kind]}
                  {reason && <span className={styles.reason}>{reasonLabels[reason] ?? reason}</span>}
                  {payment && <span className={styles.reason}>payment {payment}</span>}
                </td>
                {captured !== null ? (
                  <td className={`${table.num} ${styles.muted}`} title="Taken from your balance when it was reserved">
                    ({format.credits(captured)})
                  </td>
                ) : (
                  <td className={`${table.num} ${entry.delta > 0 ? styles.plus : styles.minus}`}>
                    {entry.delta > 0 ? '+' : '−'}
                    {format.credits(Math.abs(entry.delta))}
                  </td>
                )}
                <td className={table.num}>{format.credits(entry.balanceAfter)}</td>
                <td>{entry.source ? sourceLabels[entry.source] : '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
