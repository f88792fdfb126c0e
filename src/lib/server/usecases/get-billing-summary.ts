import 'server-only';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { creditsConfig as defaultConfig, findPack, findPlan, type CreditsConfig, type Plan } from '@/config/credits';
import { billingCustomers, paymentReversals, payments, subscriptions, type Payment, type Subscription } from '@/lib/server/db/schema';
import { queryRows } from '@/lib/server/db/sql';
import type { Database } from '@/lib/server/db/types';
import { paymentProvider } from '@/lib/server/payments';
import { paidByPayment } from '@/lib/server/payments/records';

/** How the billing page words a plan's state; `cancels_at_period_end` shows the date it stops. */
export type PlanState = 'active' | 'past_due' | 'cancels_at_period_end' | 'canceled';

export type CurrentPlan = {
  subscriptionId: string;
  planId: string;
  /** The plan's name in src/config, or its id if the plan has since been removed from sale. */
  name: string;
  billing: Subscription['billing'];
  state: PlanState;
  provider: Subscription['provider'];
  currentPeriodEnd: Date | null;
  /** When it renews (the provider charges again); null for lifetime, a plan that stops, or one that has stopped. */
  renewsAt: Date | null;
  /** A cancel or resume can be asked of the provider: a live monthly or yearly plan it bills. */
  cancelable: boolean;
  /** The provider has a hosted portal for this customer (not the test checkout, not an operator's plan). */
  hasPortal: boolean;
};

export type PaymentState = 'paid' | 'partly_refunded' | 'refunded' | 'disputed';

export type BillingPayment = {
  id: string;
  productId: string;
  productName: string;
  kind: Payment['kind'];
  amount: number;
  currency: string;
  amountRefunded: number;
  state: PaymentState;
  paidAt: Date;
  /** Credits this payment has granted so far, read from its batches (a yearly term's installments, a lifetime's months). */
  credits: number;
  reversals: { id: string; kind: 'refund' | 'dispute'; amount: number; creditsTakenBack: number; creditsNotRecovered: number; at: Date }[];
};

export type BillingSummary = { plan: CurrentPlan | null; payments: BillingPayment[] };

const PAYMENTS_SHOWN = 50;

const paymentStates: Record<Payment['status'], PaymentState> = {
  paid: 'paid',
  partially_refunded: 'partly_refunded',
  refunded: 'refunded',
  disputed: 'disputed',
};

/** The billing page: the plan in force and the payments, newest first, with what each bought and what was given back. */
export async function getBillingSummary(db: Database, userId: string, options: { config?: CreditsConfig } = {}): Promise<BillingSummary> {
  const config = options.config ?? defaultConfig;
  const [plan, rows] = await Promise.all([
    currentSubscription(db, userId),
    db.select().from(payments).where(eq(payments.userId, userId)).orderBy(desc(payments.paidAt), desc(payments.id)).limit(PAYMENTS_SHOWN),
  ]);
  const ids = rows.map((row) => row.id);
  const [credits, reversals] = await Promise.all([
    paymentCredits(db, ids),
    ids.length === 0
      ? []
      : db.select().from(paymentReversals).where(inArray(paymentReversals.paymentId, ids)).orderBy(paymentReversals.createdAt),
  ]);
  return {
    plan: plan ? describePlan(plan, config) : null,
    payments: rows.map((row) => ({
      id: row.id,
      productId: row.productId,
      productName: findPlan(config, row.productId)?.name ?? findPack(config, row.productId)?.name ?? row.productId,
      kind: row.kind,
      amount: row.amount,
      currency: row.currency,
      amountRefunded: row.amountRefunded,
      state: paymentStates[row.status],
      paidAt: row.paidAt,
      credits: credits.get(row.id) ?? 0,
      reversals: reversals
        .filter((r) => r.paymentId === row.id)
        .map((r) => ({
          id: r.id,
          kind: r.kind,
          amount: r.amount,
          creditsTakenBack: r.creditsTakenBack,
          creditsNotRecovered: r.creditsNotRecovered,
          at: r.createdAt,
        })),
    })),
  };
}

/** The plan shown as current: the newest one still running, else the newest that ended (shown as canceled). */
async function currentSubscription(db: Database, userId: string): Promise<Subscription | undefined> {
  const [row] = await db
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.userId, userId))
    .orderBy(sql`${subscriptions.status} = 'canceled'`, desc(subscriptions.anchorAt), desc(subscriptions.createdAt))
    .limit(1);
  return row;
}

function describePlan(subscription: Subscription, config: CreditsConfig): CurrentPlan {
  const plan: Plan | undefined = findPlan(config, subscription.planId);
  const periodEnd = subscription.currentPeriodEnd ?? subscription.paidThrough;
  const recurring = subscription.billing !== 'lifetime';
  const state: PlanState =
    subscription.status === 'canceled'
      ? 'canceled'
      : recurring && subscription.cancelAtPeriodEnd
        ? 'cancels_at_period_end'
        : subscription.status;
  const live = subscription.status !== 'canceled';
  return {
    subscriptionId: subscription.id,
    planId: subscription.planId,
    name: plan?.name ?? subscription.planId,
    billing: subscription.billing,
    state,
    provider: subscription.provider,
    currentPeriodEnd: periodEnd,
    renewsAt: recurring && live && !subscription.cancelAtPeriodEnd ? periodEnd : null,
    cancelable: recurring && live && subscription.provider !== null,
    hasPortal: subscription.provider !== null && subscription.provider !== 'test',
  };
}

/**
 * Credits each payment granted, from the batches it paid for: the immediate grant (`grant_key`: a
 * pack, a period, a proration), a yearly term's installments (`credit_schedules.payment_id`), a
 * lifetime plan's months (batches of the subscription the payment started).
 */
export async function paymentCredits(db: Database, paymentIds: string[]): Promise<Map<string, number>> {
  if (paymentIds.length === 0) return new Map();
  const rows = await queryRows<{ id: string; credits: number }>(
    db,
    sql`select p.id,
               (select coalesce(sum(b.amount), 0) from credit_batches b
                 where b.user_id = p.user_id
                   and ${paidByPayment('b', {
                     id: sql`p.id`,
                     kind: sql`p.kind`,
                     grantKey: sql`p.grant_key`,
                     subscriptionId: sql`coalesce(p.subscription_id, p.id)`,
                   })})::float8 as credits
          from payments p
         where p.id in (${sql.join(
           paymentIds.map((id) => sql`${id}`),
           sql`, `,
         )})`,
  );
  return new Map(rows.map((row) => [row.id, Number(row.credits)]));
}

/** The provider's self-service page for this user's plan, or null when it has none (the test checkout, an operator's plan). */
export async function billingPortalUrl(db: Database, params: { userId: string; returnUrl: string }): Promise<string | null> {
  const subscription = await currentSubscription(db, params.userId);
  if (!subscription?.provider || subscription.provider === 'test') return null;
  let customerId = subscription.customerId;
  if (!customerId) {
    const [customer] = await db
      .select({ customerId: billingCustomers.customerId })
      .from(billingCustomers)
      .where(and(eq(billingCustomers.provider, subscription.provider), eq(billingCustomers.userId, params.userId)));
    customerId = customer?.customerId ?? null;
  }
  if (!customerId) return null;
  return paymentProvider(subscription.provider).customerPortalUrl({ customerId, returnUrl: params.returnUrl });
}
