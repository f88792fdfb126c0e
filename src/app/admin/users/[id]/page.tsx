import type { Metadata } from 'next';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import { notFound } from 'next/navigation';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { formatPrice } from '@/app/pricing/products';
import { getCreditLabels } from '@/app/credits/labels';
import { hasAdminRole } from '@/lib/server/auth/roles';
import { requireAdmin } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { creditCategories } from '@/lib/server/db/schema';
import { getRequestFormatters } from '@/lib/server/request-format';
import { getCreditHistory } from '@/lib/server/usecases/get-credit-history';
import { getUserForAdmin } from '@/lib/server/usecases/get-user-for-admin';
import { listAdminAudit } from '@/lib/server/usecases/list-admin-audit';
import { ActionForm } from '../../action-form';
import { adjustCreditsAction, setBannedAction, setRoleAction } from '../../actions';
import { getAdminLabels } from '../../labels';
import styles from '../../admin.module.css';
import formStyles from '@/components/form.module.css';
import table from '@/components/table.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('admin'))('user.metaTitle') };
}

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
  const [view, history, audit, format, t, credits, admins] = await Promise.all([
    getUserForAdmin(db, { userId }),
    getCreditHistory(db, { userId, cursor, pageSize: LEDGER_PAGE }),
    listAdminAudit(db, { targetUserId: userId, pageSize: 10 }),
    getRequestFormatters(),
    getTranslations('admin.user'),
    getCreditLabels(),
    getAdminLabels(),
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
          <h2>{t('user')}</h2>
          <dl className={styles.definitions}>
            <dt>{t('id')}</dt>
            <dd className={styles.small}>{user.id}</dd>
            <dt>{t('name')}</dt>
            <dd>{user.name}</dd>
            <dt>{t('signedUp')}</dt>
            <dd>{format.dateTime(user.createdAt)}</dd>
            <dt>{t('role')}</dt>
            <dd data-testid="user-role">{t(isAdmin ? 'roles.admin' : 'roles.user')}</dd>
            <dt>{t('access')}</dt>
            <dd data-testid="user-banned" className={user.banned ? styles.bad : undefined}>
              {user.banned
                ? t('bannedDetails', {
                    reason: user.banReason || 'none',
                    until: user.banExpires ? format.dateTime(user.banExpires) : 'none',
                  })
                : t('canSignIn')}
            </dd>
          </dl>
        </section>
        <section className={styles.card}>
          <h2>{t('credits.title')}</h2>
          <p>
            {t.rich('credits.balance', {
              balance: summary.balance,
              available: summary.available,
              held: summary.held,
              balanceTag: (chunks) => <strong data-testid="user-balance">{chunks}</strong>,
              heldTag: (chunks) => <span data-testid="user-held">{chunks}</span>,
            })}
          </p>
          {/* Held credits are out of the balance and not yet spent: balance + held = granted − spent − expired. */}
          <p className={styles.muted}>
            {t('credits.totals', {
              granted: summary.totals.granted,
              spent: summary.totals.consumed,
              expired: summary.totals.expired,
              held: summary.held,
            })}
          </p>
          <p className={styles.muted}>
            {summary.nextExpiry
              ? t('credits.nextExpiry', { count: summary.nextExpiry.amount, date: format.dateTime(summary.nextExpiry.date) })
              : t('credits.noExpiry')}{' '}
            {summary.nextGrant &&
              t('credits.nextGrant', {
                count: summary.nextGrant.amount,
                date: format.dateTime(summary.nextGrant.date),
                plan: summary.nextGrant.planName,
              })}
          </p>
        </section>
      </div>

      <section className={styles.card}>
        <h2>{t('adjust.title')}</h2>
        <p className={styles.muted}>{t('adjust.explanation')}</p>
        <ActionForm
          action={adjustCreditsAction}
          idempotencyKey={randomUUID()}
          submitLabel={t('adjust.submit')}
          hidden={{ userId: user.id }}
          testId="adjust"
        >
          <label className={styles.field}>
            {t('adjust.amount')}
            <input className={formStyles.input} name="delta" type="number" step={1} required placeholder={t('adjust.amountPlaceholder')} />
          </label>
          <label className={styles.field}>
            {t('adjust.reason')}
            <input className={formStyles.input} name="reason" required maxLength={500} placeholder={t('adjust.reasonPlaceholder')} />
          </label>
          <label className={styles.field}>
            {t('adjust.category')}
            <select className={formStyles.input} name="category" defaultValue="promotional">
              {creditCategories.map((category) => (
                <option key={category} value={category}>
                  {t(`categories.${category}`)}
                </option>
              ))}
            </select>
          </label>
          <label className={styles.field}>
            {t('adjust.validityDays')}
            <input className={formStyles.input} name="validityDays" type="number" min={1} placeholder={t('adjust.never')} />
          </label>
        </ActionForm>
      </section>

      {!self && (
        <section className={styles.card}>
          <h2>{t('access')}</h2>
          <div className={styles.row}>
            {user.banned ? (
              <ActionForm
                action={setBannedAction}
                idempotencyKey={randomUUID()}
                submitLabel={t('unban')}
                hidden={{ userId: user.id, banned: 'false' }}
                testId="unban"
              />
            ) : (
              <ActionForm
                action={setBannedAction}
                idempotencyKey={randomUUID()}
                submitLabel={t('ban')}
                hidden={{ userId: user.id, banned: 'true' }}
                secondary
                testId="ban"
              >
                <label className={styles.field}>
                  {t('banReason')}
                  <input className={formStyles.input} name="reason" maxLength={500} placeholder={t('banReasonPlaceholder')} />
                </label>
              </ActionForm>
            )}
            <ActionForm
              action={setRoleAction}
              idempotencyKey={randomUUID()}
              submitLabel={t(isAdmin ? 'removeAdmin' : 'makeAdmin')}
              hidden={{ userId: user.id, role: isAdmin ? 'user' : 'admin' }}
              secondary
              testId="role"
            />
          </div>
        </section>
      )}

      <section className={styles.card}>
        <h2>{t('ledger.title')}</h2>
        {history.entries.length === 0 ? (
          <p className={styles.muted}>{t(cursor ? 'ledger.noOlder' : 'ledger.none')}</p>
        ) : (
          <div className={table.wrap}>
            <table className={table.table} data-testid="user-ledger">
              <thead>
                <tr>
                  <th scope="col">{t('ledger.date')}</th>
                  <th scope="col">{t('ledger.kind')}</th>
                  <th scope="col" className={table.num}>
                    {t('ledger.amount')}
                  </th>
                  <th scope="col" className={table.num}>
                    {t('ledger.balanceAfter')}
                  </th>
                  <th scope="col">{t('ledger.batch')}</th>
                  <th scope="col">{t('ledger.operation')}</th>
                </tr>
              </thead>
              <tbody>
                {history.entries.map((entry) => {
                  const reason = typeof entry.metadata?.reason === 'string' ? entry.metadata.reason : null;
                  const actor = typeof entry.metadata?.actor === 'string' ? entry.metadata.actor : null;
                  return (
                    <tr key={entry.id}>
                      <td>{format.dateTime(entry.createdAt)}</td>
                      <td>{credits.kind(entry.kind)}</td>
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
                            <Link href={`/admin/jobs/${entry.jobRunId}`}>{t('ledger.run')}</Link>
                          </>
                        )}
                        {reason && ` · ${reason}`}
                        {actor && ` · ${t('ledger.by', { actor })}`}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        <nav className={styles.pager} aria-label={t('ledger.pages')}>
          {cursor ? <Link href={base}>{t('ledger.newest')}</Link> : <span />}
          {history.nextCursor && <Link href={`${base}?cursor=${history.nextCursor}`}>{t('ledger.older')}</Link>}
        </nav>
      </section>

      <section className={styles.card}>
        <h2>{t('batches.title', { count: batches.length })}</h2>
        {batches.length === 0 ? (
          <p className={styles.muted}>{t('batches.none')}</p>
        ) : (
          <div className={table.wrap}>
            <table className={table.table} data-testid="user-batches">
              <thead>
                <tr>
                  <th scope="col">{t('batches.batch')}</th>
                  <th scope="col">{t('batches.source')}</th>
                  <th scope="col" className={table.num}>
                    {t('batches.amount')}
                  </th>
                  <th scope="col" className={table.num}>
                    {t('batches.remaining')}
                  </th>
                  <th scope="col">{t('batches.expires')}</th>
                  <th scope="col">{t('batches.state')}</th>
                </tr>
              </thead>
              <tbody>
                {batches.map((batch) => (
                  <tr key={batch.id}>
                    <td>{batch.id}</td>
                    <td>
                      {credits.source(batch.source)} <span className={styles.muted}>({t(`categories.${batch.category}`)})</span>
                    </td>
                    <td className={table.num}>{format.credits(batch.amount)}</td>
                    <td className={table.num}>{format.credits(batch.remaining)}</td>
                    <td>{batch.expiresAt ? format.dateTime(batch.expiresAt) : t('batches.never')}</td>
                    <td>
                      {batch.expiredAt
                        ? t('batches.states.expired', { lost: batch.expiredAmount })
                        : t(
                            batch.expiresAt && batch.expiresAt <= now
                              ? 'batches.states.dueToExpire'
                              : batch.effectiveAt > now
                                ? 'batches.states.notYetSpendable'
                                : batch.remaining === 0
                                  ? 'batches.states.spent'
                                  : 'batches.states.live',
                          )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className={styles.card}>
        <h2>{t('subscriptions.title')}</h2>
        {subscriptions.length === 0 ? (
          <p className={styles.muted}>{t('none')}</p>
        ) : (
          <ul>
            {subscriptions.map((sub) => (
              <li key={sub.id}>
                {t('subscriptions.line', {
                  plan: sub.planId,
                  billing: sub.billing,
                  status: sub.status,
                  cancels: String(sub.cancelAtPeriodEnd),
                  since: format.dateTime(sub.anchorAt),
                  provider: sub.provider ?? 'operator',
                })}{' '}
                · <span className={styles.small}>{sub.id}</span>
              </li>
            ))}
          </ul>
        )}
        <h2>{t('payments.title')}</h2>
        {payments.length === 0 ? (
          <p className={styles.muted}>{t('none')}</p>
        ) : (
          <ul>
            {payments.map((payment) => (
              <li key={payment.id}>
                {t('payments.line', {
                  date: format.dateTime(payment.paidAt),
                  product: payment.productName,
                  price: formatPrice(format.locale, payment),
                  state: payment.state,
                  credits: payment.credits,
                })}{' '}
                · <span className={styles.small}>{payment.id}</span>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className={styles.card}>
        <h2>{t('audit.title')}</h2>
        {audit.rows.length === 0 ? (
          <p className={styles.muted}>{t('none')}</p>
        ) : (
          <ul>
            {audit.rows.map((row) => (
              <li key={row.id}>
                {t('audit.line', {
                  date: format.dateTime(row.createdAt),
                  action: admins.action(row.action),
                  admin: row.adminEmail,
                  outcome: admins.outcome(row.outcome),
                })}
              </li>
            ))}
          </ul>
        )}
        <Link href="/admin/audit">{t('audit.all')}</Link>
      </section>
    </>
  );
}
