import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { formatPrice } from '@/app/pricing/products';
import { sourceLabels } from '@/app/credits/labels';
import { hasAdminRole } from '@/lib/server/auth/roles';
import { requireAdmin } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { getCreditHistory } from '@/lib/server/usecases/get-credit-history';
import { getUserForAdmin } from '@/lib/server/usecases/get-user-for-admin';
import { listAdminAudit } from '@/lib/server/usecases/list-admin-audit';
import { ActionForm } from '../../action-form';
import { adjustCreditsAction, setBannedAction, setRoleAction } from '../../actions';
import { actionLabels, describeOutcome, ledgerKindLabel } from '../../labels';
import styles from '../../admin.module.css';
import formStyles from '@/components/form.module.css';
import table from '@/components/table.module.css';

export const metadata: Metadata = { title: 'Admin · User' };

const LEDGER_PAGE = 25;
const querySchema = z.object({ cursor: z.coerce.number().int().positive().optional().catch(undefined) });

type PageProps = {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

// GET /admin/users/:id - one user's credits, plans and payments, with the adjust, ban and role forms.
export default async function AdminUserPage({ params, searchParams }: PageProps) {
  const admin = await requireAdmin();
  const userId = decodeURIComponent((await params).id);
  const { cursor } = querySchema.parse(await searchParams);
  const db = await getDb();
  const [view, history, audit, format] = await Promise.all([
    getUserForAdmin(db, { userId }),
    getCreditHistory(db, { userId, cursor, pageSize: LEDGER_PAGE }),
    listAdminAudit(db, { targetUserId: userId, pageSize: 10 }),
    getRequestFormatters(),
  ]);
  if (!view) notFound();
  const { user, summary, batches, subscriptions, payments } = view;
  const isAdmin = hasAdminRole(user.role);
  const self = user.id === admin.id;
  const base = `/admin/users/${encodeURIComponent(user.id)}`;
  const now = new Date();

  return (
    <>
      <h1>{user.email}</h1>
      <div className={styles.cards}>
        <section className={styles.card}>
          <h2>User</h2>
          <dl className={styles.definitions}>
            <dt>Id</dt>
            <dd className={styles.small}>{user.id}</dd>
            <dt>Name</dt>
            <dd>{user.name}</dd>
            <dt>Signed up</dt>
            <dd>{format.dateTime(user.createdAt)}</dd>
            <dt>Role</dt>
            <dd data-testid="user-role">{isAdmin ? 'admin' : 'user'}</dd>
            <dt>Access</dt>
            <dd data-testid="user-banned" className={user.banned ? styles.bad : undefined}>
              {user.banned
                ? `banned${user.banReason ? `: ${user.banReason}` : ''}${user.banExpires ? ` until ${format.dateTime(user.banExpires)}` : ''}`
                : 'can sign in'}
            </dd>
          </dl>
        </section>
        <section className={styles.card}>
          <h2>Credits (what the user sees)</h2>
          <p>
            Balance <strong data-testid="user-balance">{format.credits(summary.balance)}</strong>, {format.credits(summary.available)}{' '}
            spendable now, <span data-testid="user-held">{format.credits(summary.held)}</span> held by work in progress
          </p>
          {/* Held credits are out of the balance and not yet spent: balance + held = granted − spent − expired. */}
          <p className={styles.muted}>
            {format.credits(summary.totals.granted)} granted · {format.credits(summary.totals.consumed)} spent ·{' '}
            {format.credits(summary.totals.expired)} expired · {format.credits(summary.held)} held
          </p>
          <p className={styles.muted}>
            {summary.nextExpiry
              ? `${format.credits(summary.nextExpiry.amount)} expire on ${format.dateTime(summary.nextExpiry.date)}.`
              : 'Nothing expires.'}{' '}
            {summary.nextGrant &&
              `Next grant: ${format.credits(summary.nextGrant.amount)} on ${format.dateTime(summary.nextGrant.date)} (${summary.nextGrant.planName}).`}
          </p>
        </section>
      </div>

      <section className={styles.card}>
        <h2>Adjust credits</h2>
        <p className={styles.muted}>
          A positive amount gives a new batch; a negative one takes credits back in burn-down order and is refused below zero. Recorded as
          an “adjust” entry naming you, and in the audit trail.
        </p>
        <ActionForm
          action={adjustCreditsAction}
          idempotencyKey={randomUUID()}
          submitLabel="Adjust"
          hidden={{ userId: user.id }}
          testId="adjust"
        >
          <label className={styles.field}>
            Amount
            <input className={formStyles.input} name="delta" type="number" step={1} required placeholder="500 or -50" />
          </label>
          <label className={styles.field}>
            Reason
            <input className={formStyles.input} name="reason" required maxLength={500} placeholder="outage of 21 Nov, ticket 4711" />
          </label>
          <label className={styles.field}>
            Category (if given)
            <select className={formStyles.input} name="category" defaultValue="promotional">
              <option>promotional</option>
              <option>paid</option>
            </select>
          </label>
          <label className={styles.field}>
            Expires in days (if given)
            <input className={formStyles.input} name="validityDays" type="number" min={1} placeholder="never" />
          </label>
        </ActionForm>
      </section>

      {!self && (
        <section className={styles.card}>
          <h2>Access</h2>
          <div className={styles.row}>
            {user.banned ? (
              <ActionForm
                action={setBannedAction}
                idempotencyKey={randomUUID()}
                submitLabel="Unban"
                hidden={{ userId: user.id, banned: 'false' }}
                testId="unban"
              />
            ) : (
              <ActionForm
                action={setBannedAction}
                idempotencyKey={randomUUID()}
                submitLabel="Ban"
                hidden={{ userId: user.id, banned: 'true' }}
                secondary
                testId="ban"
              >
                <label className={styles.field}>
                  Reason
                  <input className={formStyles.input} name="reason" maxLength={500} placeholder="spam" />
                </label>
              </ActionForm>
            )}
            <ActionForm
              action={setRoleAction}
              idempotencyKey={randomUUID()}
              submitLabel={isAdmin ? 'Remove the admin role' : 'Make admin'}
              hidden={{ userId: user.id, role: isAdmin ? 'user' : 'admin' }}
              secondary
              testId="role"
            />
          </div>
        </section>
      )}

      <section className={styles.card}>
        <h2>Ledger</h2>
        {history.entries.length === 0 ? (
          <p className={styles.muted}>{cursor ? 'No older entries.' : 'No entries yet.'}</p>
        ) : (
          <div className={table.wrap}>
            <table className={table.table} data-testid="user-ledger">
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
                  <th scope="col">Batch</th>
                  <th scope="col">Operation · job run · reason</th>
                </tr>
              </thead>
              <tbody>
                {history.entries.map((entry) => {
                  const reason = typeof entry.metadata?.reason === 'string' ? entry.metadata.reason : null;
                  const actor = typeof entry.metadata?.actor === 'string' ? entry.metadata.actor : null;
                  return (
                    <tr key={entry.id}>
                      <td>{format.dateTime(entry.createdAt)}</td>
                      <td>{ledgerKindLabel(entry.kind)}</td>
                      <td className={table.num}>
                        {entry.delta > 0 ? '+' : ''}
                        {format.credits(entry.delta)}
                      </td>
                      <td className={table.num}>{format.credits(entry.balanceAfter)}</td>
                      <td>{entry.batchId ?? '—'}</td>
                      <td className={styles.small}>
                        {entry.operationKey}
                        {entry.jobRunId && (
                          <>
                            {' · '}
                            <Link href={`/admin/jobs/${entry.jobRunId}`}>run</Link>
                          </>
                        )}
                        {reason && ` · ${reason}`}
                        {actor && ` · by ${actor}`}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        <nav className={styles.pager} aria-label="Ledger pages">
          {cursor ? <Link href={base}>← Newest entries</Link> : <span />}
          {history.nextCursor && <Link href={`${base}?cursor=${history.nextCursor}`}>Older entries →</Link>}
        </nav>
      </section>

      <section className={styles.card}>
        <h2>Batches (newest {batches.length})</h2>
        {batches.length === 0 ? (
          <p className={styles.muted}>No batches.</p>
        ) : (
          <div className={table.wrap}>
            <table className={table.table} data-testid="user-batches">
              <thead>
                <tr>
                  <th scope="col">Batch</th>
                  <th scope="col">Source</th>
                  <th scope="col" className={table.num}>
                    Amount
                  </th>
                  <th scope="col" className={table.num}>
                    Remaining
                  </th>
                  <th scope="col">Expires</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {batches.map((batch) => (
                  <tr key={batch.id}>
                    <td>{batch.id}</td>
                    <td>
                      {sourceLabels[batch.source] ?? batch.source} <span className={styles.muted}>({batch.category})</span>
                    </td>
                    <td className={table.num}>{format.credits(batch.amount)}</td>
                    <td className={table.num}>{format.credits(batch.remaining)}</td>
                    <td>{batch.expiresAt ? format.dateTime(batch.expiresAt) : 'never'}</td>
                    <td>
                      {batch.expiredAt
                        ? `expired (lost ${format.credits(batch.expiredAmount)})`
                        : batch.expiresAt && batch.expiresAt <= now
                          ? 'due to expire'
                          : batch.effectiveAt > now
                            ? 'not yet spendable'
                            : batch.remaining === 0
                              ? 'spent'
                              : 'live'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className={styles.card}>
        <h2>Subscriptions</h2>
        {subscriptions.length === 0 ? (
          <p className={styles.muted}>None.</p>
        ) : (
          <ul>
            {subscriptions.map((sub) => (
              <li key={sub.id}>
                {sub.planId} ({sub.billing}), {sub.status}
                {sub.cancelAtPeriodEnd && ', cancels at period end'} · since {format.dateTime(sub.anchorAt)} · {sub.provider ?? 'operator'}{' '}
                · <span className={styles.small}>{sub.id}</span>
              </li>
            ))}
          </ul>
        )}
        <h2>Payments</h2>
        {payments.length === 0 ? (
          <p className={styles.muted}>None.</p>
        ) : (
          <ul>
            {payments.map((payment) => (
              <li key={payment.id}>
                {format.dateTime(payment.paidAt)} · {payment.productName} · {formatPrice(format.locale, payment)} ·{' '}
                {payment.state.replace('_', ' ')} · {format.credits(payment.credits)} credits ·{' '}
                <span className={styles.small}>{payment.id}</span>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className={styles.card}>
        <h2>Admin actions on this user</h2>
        {audit.rows.length === 0 ? (
          <p className={styles.muted}>None.</p>
        ) : (
          <ul>
            {audit.rows.map((row) => (
              <li key={row.id}>
                {format.dateTime(row.createdAt)} · {actionLabels[row.action]} by {row.adminEmail} · {describeOutcome(row.outcome)}
              </li>
            ))}
          </ul>
        )}
        <Link href="/admin/audit">The whole audit trail →</Link>
      </section>
    </>
  );
}
