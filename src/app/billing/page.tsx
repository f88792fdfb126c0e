import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import Link from 'next/link';
import { getTranslations } from 'next-intl/server';
import type { Formatters } from '@/lib/format';
import { requireUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { getBillingSummary, type BillingPayment, type CurrentPlan } from '@/lib/server/usecases/get-billing-summary';
import { formatPrice } from '@/app/pricing/products';
import { openBillingPortal } from './actions';
import { RenewalForm } from './renewal-form';
import formStyles from '@/components/form.module.css';
import styles from './billing.module.css';
import table from '@/components/table.module.css';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations('billing'))('title') };
}

export default async function BillingPage() {
  const user = await requireUser('/billing');
  const [summary, format, t] = await Promise.all([
    getDb().then((db) => getBillingSummary(db, user.id)),
    getRequestFormatters(),
    getTranslations('billing'),
  ]);
  return (
    <div className={styles.page}>
      <h1>{t('title')}</h1>
      <section className={styles.card} data-testid="current-plan">
        <h2>{t('yourPlan')}</h2>
        {summary.plan ? (
          <PlanDetails plan={summary.plan} format={format} />
        ) : (
          <p>{t.rich('freeTier', { link: (chunks) => <Link href="/pricing">{chunks}</Link> })}</p>
        )}
      </section>
      <section className={styles.card}>
        <h2>{t('payments.title')}</h2>
        {summary.payments.length === 0 ? (
          <p className={styles.muted}>{t('payments.none')}</p>
        ) : (
          <Payments payments={summary.payments} format={format} />
        )}
      </section>
    </div>
  );
}

async function PlanDetails({ plan, format }: { plan: CurrentPlan; format: Formatters }) {
  const t = await getTranslations('billing');
  const time = (date: Date) =>
    function TimeTag(chunks: ReactNode) {
      return <time dateTime={date.toISOString()}>{chunks}</time>;
    };
  return (
    <>
      <p className={styles.planName}>
        <strong data-testid="plan-name">{plan.name}</strong> · {t(`cadence.${plan.billing}`)}
        {plan.provider === 'test' && <span className={styles.testTag}>{t('testTag')}</span>}
      </p>
      <p data-testid="plan-status">
        {plan.state === 'cancels_at_period_end'
          ? plan.currentPeriodEnd
            ? t.rich('state.cancelsOn', { date: format.dateTime(plan.currentPeriodEnd), time: time(plan.currentPeriodEnd) })
            : t('state.cancelsAtPeriodEnd')
          : t(`state.${plan.state}`)}
      </p>
      {plan.renewsAt && (
        <p className={styles.muted}>{t.rich('renewsOn', { date: format.dateTime(plan.renewsAt), time: time(plan.renewsAt) })}</p>
      )}
      <div className={styles.actions}>
        {plan.hasPortal && (
          <form action={openBillingPortal}>
            <button className={formStyles.secondary} type="submit">
              {t('manage')}
            </button>
          </form>
        )}
        {plan.cancelable && <RenewalForm subscriptionId={plan.subscriptionId} cancel={plan.state !== 'cancels_at_period_end'} />}
      </div>
    </>
  );
}

async function Payments({ payments, format }: { payments: BillingPayment[]; format: Formatters }) {
  const t = await getTranslations('billing.payments');
  return (
    <div className={table.wrap}>
      <table className={table.table} data-testid="payments">
        <thead>
          <tr>
            <th scope="col">{t('date')}</th>
            <th scope="col">{t('what')}</th>
            <th scope="col" className={table.num}>
              {t('amount')}
            </th>
            <th scope="col">{t('state')}</th>
            <th scope="col" className={table.num}>
              {t('credits')}
            </th>
          </tr>
        </thead>
        <tbody>
          {payments.map((payment) => (
            <tr key={payment.id}>
              <td>
                <time dateTime={payment.paidAt.toISOString()}>{format.dateTime(payment.paidAt)}</time>
              </td>
              <td>{payment.productName}</td>
              <td className={table.num}>{formatPrice(format.locale, payment)}</td>
              <td>
                {t(`states.${payment.state}`)}
                {payment.reversals.map((reversal) => (
                  <span key={reversal.id} className={styles.reversal}>
                    {t('reversal', {
                      kind: reversal.kind,
                      amount: formatPrice(format.locale, { ...payment, amount: reversal.amount }),
                      takenBack: reversal.creditsTakenBack,
                      notRecovered: reversal.creditsNotRecovered,
                    })}
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
