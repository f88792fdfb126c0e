import 'server-only';
import { sql } from 'drizzle-orm';
import { findProduct, type CreditsConfig } from '@/config/credits';
import { createFormatters, formatPrice } from '@/lib/format';
import type { Database } from '@/lib/server/db/types';
import { queryRows } from '@/lib/server/db/sql';
import { sendMail } from '@/lib/server/mail';
import { appLink } from '@/lib/server/mail/links';
import { renderMail, type MailContent } from '@/lib/server/mail/render';

/** A payment as its receipt shows it. */
export type ReceiptPayment = {
  id: string;
  email: string;
  productId: string;
  kind: string;
  amount: number;
  currency: string;
  creditsGranted: number;
  paidAt: Date;
  periodStart: Date | null;
  periodEnd: Date | null;
};

/**
 * Mails the receipt of each payment, once. Called after the transaction that recorded the payments
 * has committed (the billing dispatcher does it for webhooks, the success page and the test checkout),
 * with only the payments that transaction created, so a redelivered webhook sends nothing.
 *
 * Each receipt is claimed first (`payments.receipt_sent_at`, set only where it is still null), so two
 * callers naming the same payment send one mail. A mail the SMTP server refuses clears the claim again
 * and is logged with the payment id: the payment and its credits stand, the webhook still answers 200,
 * and the receipt is not retried automatically (`receipt_sent_at is null` lists the ones to resend;
 * the billing page shows every payment anyway). Never throws.
 */
export async function sendReceipts(
  db: Database,
  params: { paymentIds: string[]; config: CreditsConfig },
): Promise<{ sent: number; failed: number }> {
  const counts = { sent: 0, failed: 0 };
  for (const paymentId of params.paymentIds) {
    try {
      const [payment] = await claimReceipt(db, paymentId);
      if (!payment) continue; // sent already
      try {
        await sendMail({ kind: 'receipt', to: payment.email, ...renderMail(receiptMail(normalize(payment), params.config)) });
        counts.sent += 1;
      } catch (error) {
        await db.execute(sql`update payments set receipt_sent_at = null where id = ${paymentId}`);
        throw error;
      }
    } catch (error) {
      counts.failed += 1;
      console.error(`[billing] the receipt of payment ${paymentId} could not be sent (the payment and its credits stand):`, error);
    }
  }
  return counts;
}

type ReceiptRow = Omit<ReceiptPayment, 'amount' | 'creditsGranted' | 'paidAt' | 'periodStart' | 'periodEnd'> & {
  amount: string;
  creditsGranted: string;
  paidAtMs: number;
  periodStartMs: number | null;
  periodEndMs: number | null;
};

const epochMs = (column: string) => sql.raw(`(extract(epoch from p.${column}) * 1000)::float8`);

function claimReceipt(db: Database, paymentId: string) {
  return queryRows<ReceiptRow>(
    db,
    sql`update payments p set receipt_sent_at = now()
          from users u
         where p.id = ${paymentId} and p.receipt_sent_at is null and u.id = p.user_id
     returning p.id, u.email, p.product_id as "productId", p.kind, p.amount::text as amount, p.currency,
               p.credits_granted::text as "creditsGranted", ${epochMs('paid_at')} as "paidAtMs",
               ${epochMs('period_start')} as "periodStartMs", ${epochMs('period_end')} as "periodEndMs"`,
  );
}

function normalize(row: ReceiptRow): ReceiptPayment {
  const date = (ms: number | null) => (ms === null ? null : new Date(ms));
  return {
    id: row.id,
    email: row.email,
    productId: row.productId,
    kind: row.kind,
    currency: row.currency,
    amount: Number(row.amount),
    creditsGranted: Number(row.creditsGranted),
    paidAt: new Date(row.paidAtMs),
    periodStart: date(row.periodStartMs),
    periodEnd: date(row.periodEndMs),
  };
}

const WHAT_WAS_BOUGHT: Record<string, (name: string) => string> = {
  pack: (name) => `${name} (credit pack)`,
  lifetime: (name) => `${name} (one-time payment)`,
  period: (name) => `${name}: subscription period`,
  term: (name) => `${name}: yearly term`,
  proration: (name) => `${name}: plan change for the rest of the period`,
};

/** The receipt: what was bought, what it cost, the credits it granted, when, and a link to the billing page. */
export function receiptMail(payment: ReceiptPayment, config: CreditsConfig): MailContent {
  const format = createFormatters('en-US');
  const product = findProduct(config, payment.productId);
  const name = product ? (product.kind === 'plan' ? product.plan.name : product.pack.name) : payment.productId;
  const what = (WHAT_WAS_BOUGHT[payment.kind] ?? ((n: string) => n))(name);
  const price = formatPrice('en-US', payment);
  const credits = `${format.credits(payment.creditsGranted)} ${payment.creditsGranted === 1 ? 'credit' : 'credits'}`;
  const later =
    payment.kind === 'term'
      ? ' now; the rest arrive in installments'
      : payment.kind === 'lifetime'
        ? ' for this month; more arrive every month'
        : '';
  return {
    subject: `Receipt: ${name}, ${price}`,
    heading: 'Thank you for your payment',
    paragraphs: [
      `You bought: ${what}`,
      `Amount paid: ${price}`,
      `Credits granted: ${credits}${later}`,
      ...(payment.periodStart && payment.periodEnd
        ? [`Period: ${format.dateTime(payment.periodStart)} to ${format.dateTime(payment.periodEnd)}`]
        : []),
      `Date: ${format.dateTime(payment.paidAt)}`,
      `Reference: ${payment.id}`,
    ],
    action: { label: 'See your billing', url: appLink('/billing') },
    footer: 'Keep this mail as your receipt. Your billing page lists every payment.',
  };
}
