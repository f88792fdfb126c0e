import type { Metadata } from 'next';
import Link from 'next/link';
import type { Formatters } from '@/lib/format';
import { requireUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { getBillingSummary, type BillingPayment, type CurrentPlan, type PaymentState } from '@/lib/server/usecases/get-billing-summary';
import { formatPrice } from '@/app/pricing/products';
import { openBillingPortal } from './actions';
import { RenewalForm } from './renewal-form';
import formStyles from '@/components/form.module.css';
import styles from './billing.module.css';
import table from '@/components/table.module.css';

export const metadata: Metadata = { title: 'Billing' };

const billingLabels: Record<CurrentPlan['billing'], string> = { monthly: 'Billed monthly', yearly: 'Billed yearly', lifetime: 'Paid once' };
const paymentStateLabels: Record<PaymentState, string> = {
  paid: 'Paid',
  partly_refunded: 'Partly refunded',
  refunded: 'Refunded',
  disputed: 'Disputed',
};

export default async function BillingPage() {
  const user = await requireUser('/billing');
  const [summary, format] = await Promise.all([getDb().then((db) => getBillingSummary(db, user.id)), getRequestFormatters()]);
  return (
    <div className={styles.page}>
      <h1>Billing</h1>
      <section className={styles.card} data-testid="current-plan">
        <h2>Your plan</h2>
        {summary.plan ? (
          <PlanDetails plan={summary.plan} format={format} />
        ) : (
          <p>
            You are on the free tier. <Link href="/pricing">See the plans</Link>
          </p>
        )}
      </section>
      <section className={styles.card}>
        <h2>Payments</h2>
        {summary.payments.length === 0 ? (
          <p className={styles.muted}>No payments yet.</p>
        ) : (
          <Payments payments={summary.payments} format={format} />
        )}
      </section>
    </div>
  );
}

function PlanDetails({ plan, format }: { plan: CurrentPlan; format: Formatters }) {
  const periodEnd = plan.currentPeriodEnd ? <Time date={plan.currentPeriodEnd} format={format} /> : null;
  return (
    <>
      <p className={styles.planName}>
        <strong data-testid="plan-name">{plan.name}</strong> · {billingLabels[plan.billing]}
        {plan.provider === 'test' && <span className={styles.testTag}>test checkout</span>}
      </p>
      <p data-testid="plan-status">
        {plan.state === 'active' && 'Active'}
        {plan.state === 'past_due' && 'Past due: the last payment failed. No new credits until it is paid.'}
        {plan.state === 'cancels_at_period_end' && <>Cancels on {periodEnd ?? 'the end of the period'}</>}
        {plan.state === 'canceled' && 'Canceled'}
      </p>
      {plan.renewsAt && (
        <p className={styles.muted}>
          Renews on <Time date={plan.renewsAt} format={format} />
        </p>
      )}
      <div className={styles.actions}>
        {plan.hasPortal && (
          <form action={openBillingPortal}>
            <button className={formStyles.secondary} type="submit">
              Manage subscription
            </button>
          </form>
        )}
        {plan.cancelable && <RenewalForm subscriptionId={plan.subscriptionId} cancel={plan.state !== 'cancels_at_period_end'} />}
      </div>
    </>
  );
}

function Payments({ payments, format }: { payments: BillingPayment[]; format: Formatters }) {
  return (
    <div className={table.wrap}>
      <table className={table.table} data-testid="payments">
        <thead>
          <tr>
            <th scope="col">Date</th>
            <th scope="col">What</th>
            <th scope="col" className={table.num}>
              Amount
            </th>
            <th scope="col">State</th>
            <th scope="col" className={table.num}>
              Credits
            </th>
          </tr>
        </thead>
        <tbody>
          {payments.map((payment) => (
            <tr key={payment.id}>
              <td>
                <Time date={payment.paidAt} format={format} />
              </td>
              <td>{payment.productName}</td>
              <td className={table.num}>{formatPrice(format.locale, payment)}</td>
              <td>
                {paymentStateLabels[payment.state]}
                {payment.reversals.map((reversal) => (
                  <span key={reversal.id} className={styles.reversal}>
                    {reversal.kind === 'refund' ? 'Refund' : 'Dispute'} of{' '}
                    {formatPrice(format.locale, { ...payment, amount: reversal.amount })}: {format.credits(reversal.creditsTakenBack)}{' '}
                    credits taken back
                    {reversal.creditsNotRecovered > 0 && `, ${format.credits(reversal.creditsNotRecovered)} already spent`}
                  </span>
                ))}
              </td>
              <td className={table.num}>{format.credits(payment.credits)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Time({ date, format }: { date: Date; format: Formatters }) {
  return <time dateTime={date.toISOString()}>{format.dateTime(date)}</time>;
}
