import 'server-only';
import { and, eq, inArray, ne, or, sql } from 'drizzle-orm';
import { creditSchedules, creditTakeBacks, paymentReversals, payments, subscriptions, type Payment } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { queryRows } from '@/lib/server/db/sql';
import { lockBalance } from '@/lib/server/credits/balances';
import { creditKeys } from '@/lib/server/credits/keys';
import { paidByPayment } from '@/lib/server/payments/records';
import { postLostCredits } from '@/lib/server/credits/posting';
import { startOfUtcMonth } from '@/lib/server/credits/time';
import type { BillingEventOf } from '@/lib/server/payments/events';
import type { BillingContext, BillingOutcome } from './apply-billing-webhook';

type Reversal = BillingEventOf<'payment_reversed'>;

/** How long a reversal naming no known payment is retried (500) before it is taken for another app's charge. */
const UNKNOWN_PAYMENT_RETRY_MS = 24 * 60 * 60 * 1000;

/**
 * A batch the payment paid for, as locked: what is left of it now, what it was granted, and what holds
 * have of it that no earlier refund, dispute or void already waits for (`owable`).
 */
type PaidBatch = { id: number; userId: string; amount: number; remaining: number; owable: number; live: boolean };

/**
 * A refund or a dispute of a payment (docs/payments.md): takes back the refunded share of that
 * payment's credits that is still unspent, never below zero; stops what the payment would still
 * grant (a yearly term's installments, a lifetime plan's months); records, under the refund's or
 * dispute's own id, what it took back and what it could not (already spent, or expired). The same
 * reversal again (a redelivery, or Stripe's `refund.created` and `charge.refunded` naming one refund)
 * changes nothing. A dispute is a refund of its amount.
 *
 * Runs in the dispatcher's transaction. Locks, in the global order: the payment, then its lifetime
 * subscription or its term's schedule, then the user's balance, then the batches (as spends, grants
 * and the jobs do), so a reversal racing a spend or the installment job waits instead of deadlocking.
 */
export async function reversePayment(tx: Database, event: Reversal, ctx: BillingContext): Promise<Omit<BillingOutcome, 'type'>> {
  const payment = await lockPayment(tx, event, ctx);
  if (!payment) {
    console.error(
      `[billing] ${event.kind} ${event.reversalId} names no payment of this app (refs ${event.paymentRefs.join(', ')}): nothing taken back`,
    );
    return { result: 'ignored', detail: 'no payment of this app' };
  }
  if (payment.currency.toLowerCase() !== event.currency.toLowerCase()) {
    throw new Error(
      `reversePayment: ${event.kind} ${event.reversalId} is in ${event.currency}, payment ${payment.id} in ${payment.currency}`,
    );
  }
  const reversalId = `${ctx.provider}:${event.reversalId}`;
  // Read under the payment's lock: a second delivery of this reversal waits for the first to commit, then finds its row.
  const [done] = await tx.select({ id: paymentReversals.id }).from(paymentReversals).where(eq(paymentReversals.id, reversalId));
  if (done) return { result: 'replayed' };

  await stopFutureCredits(tx, payment, ctx.now);
  await lockBalance(tx, payment.userId);
  const batches = await lockPaidBatches(tx, payment, ctx.now);

  // The money the payment really collected, when the provider tells us with the reversal (a renewal
  // event may not carry it, and the list price was recorded then): the payment is corrected to it.
  if (event.paymentAmount && event.paymentAmount !== payment.amount) {
    payment.amount = Math.max(event.paymentAmount, payment.amountRefunded);
    await tx.update(payments).set({ amount: payment.amount }).where(eq(payments.id, payment.id));
  }
  const refundable = payment.amount - payment.amountRefunded;
  const amount = Math.min(event.amount, refundable);
  const refundedAfter = payment.amountRefunded + amount;
  const unspent = sum(batches.filter((b) => b.live).map((b) => b.remaining));
  const granted = sum(batches.map((b) => b.amount));
  // The refunded money's share of the credits the payment granted (all of them once it is all
  // refunded), less what earlier reversals of it already accounted for; of that share, what is still
  // unspent comes back and the rest (spent, or expired) is recorded as not recovered.
  const shareAfter = refundedAfter === payment.amount ? granted : mulDiv(granted, refundedAfter, payment.amount, 'round');
  const share = Math.max(0, shareAfter - (await accountedFor(tx, payment.id)));
  const takenBack = Math.min(share, unspent);
  const notRecovered = share - takenBack;
  // Of what is not recovered, credits a hold has are owed: the hold's release takes them back (a capture
  // spends them). The reversal's row records the refund as it stood; credit_take_backs what it still waits for.
  const owed = Math.min(notRecovered, sum(batches.filter((b) => b.live).map((b) => b.owable)));
  const key = creditKeys.revoke(ctx.provider, event.reversalId);
  const metadata = { paymentId: payment.id, reversalId, kind: event.kind };

  await takeBack(tx, { takes: allocate(batches, takenBack, 'remaining'), key, metadata, now: ctx.now });
  await owe(tx, { takes: allocate(batches, owed, 'owable'), userId: payment.userId, key, metadata, now: ctx.now });
  await tx.insert(paymentReversals).values({
    id: reversalId,
    paymentId: payment.id,
    userId: payment.userId,
    kind: event.kind,
    amount,
    creditsTakenBack: takenBack,
    creditsNotRecovered: notRecovered,
    createdAt: ctx.now,
  });
  await tx
    .update(payments)
    .set({ amountRefunded: refundedAfter, status: statusAfter(payment, event.kind, refundedAfter) })
    .where(eq(payments.id, payment.id));
  return {
    result: 'applied',
    detail: `${event.kind} ${reversalId} of ${amount} ${payment.currency} on ${payment.id}: ${takenBack} credits taken back, ${notRecovered} not recovered (${owed} of them held, taken back if released)`,
  };
}

/**
 * The payment the reversal names, locked. An unknown payment throws: the webhook answers 500 and the
 * provider retries later, because a refund may arrive before the payment's own event has been applied.
 */
async function lockPayment(tx: Database, event: Reversal, ctx: BillingContext): Promise<Payment | null> {
  const refs = event.paymentRefs;
  const found = await tx
    .select()
    .from(payments)
    .where(
      and(
        eq(payments.provider, ctx.provider),
        or(
          inArray(
            payments.id,
            refs.map((ref) => `${ctx.provider}:${ref}`),
          ),
          inArray(payments.providerPaymentId, refs),
          inArray(payments.providerChargeId, refs),
        ),
      ),
    )
    .orderBy(payments.id)
    .for('update');
  if (found.length === 0) {
    // A day on, the payment's own event would have come long since: the charge is not one of this
    // app's (another product on the same account, a payment ignored as not ours). Answering 500 for
    // days would only get the endpoint disabled by the provider.
    if (ctx.now.getTime() - event.at.getTime() > UNKNOWN_PAYMENT_RETRY_MS) return null;
    throw new Error(`reversePayment: no ${ctx.provider} payment for ${event.kind} ${event.reversalId} (refs ${refs.join(', ')}) yet`);
  }
  if (found.length > 1) {
    throw new Error(
      `reversePayment: ${event.kind} ${event.reversalId} names ${found.length} payments (${found.map((p) => p.id).join(', ')})`,
    );
  }
  return found[0]!;
}

/**
 * Nothing more is granted for a reversed payment: a term's schedule is closed and a lifetime plan
 * canceled, both before the balance is locked (the order the installment job and cancelSubscription
 * take). A monthly period's subscription is left to the provider, which sends its own event if it ends.
 */
async function stopFutureCredits(tx: Database, payment: Payment, now: Date): Promise<void> {
  if (payment.kind === 'term') {
    const schedules = await tx
      .select({ id: creditSchedules.id })
      .from(creditSchedules)
      .where(eq(creditSchedules.paymentId, payment.id))
      .orderBy(creditSchedules.id)
      .for('update');
    if (schedules.length === 0) return;
    await tx
      .update(creditSchedules)
      .set({ status: 'canceled', nextDueAt: null, updatedAt: now })
      .where(
        and(
          inArray(
            creditSchedules.id,
            schedules.map((s) => s.id),
          ),
          eq(creditSchedules.status, 'active'),
        ),
      );
    return;
  }
  if (payment.kind === 'lifetime' && payment.subscriptionId) {
    const [plan] = await tx.select().from(subscriptions).where(eq(subscriptions.id, payment.subscriptionId)).for('no key update');
    if (!plan || plan.status === 'canceled') return;
    // A cancel keeps the months that began before it (docs/credits.md). A month that has begun but whose
    // credits the grant job has not written yet (a refund on the 1st before the job's run) must not be
    // granted after the refund: the plan then stops at the start of this month instead of now.
    const monthStart = startOfUtcMonth(now);
    const [thisMonth] = await queryRows<{ id: number }>(
      tx,
      sql`select id from credit_batches where idempotency_key = ${creditKeys.lifetimeMonth(plan.id, now)}`,
    );
    const canceledAt = thisMonth ? now : new Date(Math.max(monthStart.getTime(), plan.anchorAt.getTime()));
    await tx
      .update(subscriptions)
      .set({ status: 'canceled', canceledAt, updatedAt: now })
      .where(and(eq(subscriptions.id, plan.id), ne(subscriptions.status, 'canceled')));
  }
}

/**
 * The batches the payment paid for, locked (after the balance), soonest expiry first: a pack, a period
 * or a proration by its grant key; a term by its schedule; a lifetime plan by its months. `live`: not
 * expired and not past its expiry (what the expire job has not swept yet is its to record, as a void does).
 */
async function lockPaidBatches(tx: Database, payment: Payment, now: Date): Promise<PaidBatch[]> {
  // A pack or proration that granted at once without recording its key is a bug to fix, not credits to
  // let go. A period payment without one paid for a period another payment had already paid (a
  // duplicate charge): it bought nothing, and its refund takes nothing.
  if (payment.kind === 'period' && !payment.grantKey) return [];
  if (!['term', 'lifetime'].includes(payment.kind) && !payment.grantKey)
    throw new Error(`reversePayment: payment ${payment.id} has no grant key`);
  return queryRows<PaidBatch>(
    tx,
    sql`select id, user_id as "userId", amount, remaining,
               credits_batch_held(user_id, id)
                 - coalesce((select sum(pending) from credit_take_backs tb where tb.batch_id = credit_batches.id), 0) as owable,
               (expired_at is null and (expires_at is null or expires_at > ${now.toISOString()}::timestamptz)) as live
          from credit_batches
         where user_id = ${payment.userId}
           and ${paidByPayment('credit_batches', {
             id: sql`${payment.id}`,
             kind: sql`${payment.kind}`,
             grantKey: sql`${payment.grantKey}`,
             subscriptionId: sql`${payment.subscriptionId}`,
           })}
         order by expires_at asc nulls last, id
           for update`,
  ).then((rows) =>
    rows.map((row) => ({
      ...row,
      id: Number(row.id),
      amount: Number(row.amount),
      remaining: Number(row.remaining),
      owable: Number(row.owable),
    })),
  );
}

/** Credits earlier reversals of the payment took back or recorded as not recovered. */
async function accountedFor(tx: Database, paymentId: string): Promise<number> {
  const [row] = await tx
    .select({
      total: sql<number>`coalesce(sum(${paymentReversals.creditsTakenBack} + ${paymentReversals.creditsNotRecovered}), 0)::bigint`,
    })
    .from(paymentReversals)
    .where(eq(paymentReversals.paymentId, paymentId));
  return Number(row!.total);
}

/** Splits `total` over the live batches in the order given (soonest expiry first), never more than a batch has of `from`. */
function allocate(batches: PaidBatch[], total: number, from: 'remaining' | 'owable'): { id: number; take: number }[] {
  const takes: { id: number; take: number }[] = [];
  let left = total;
  for (const batch of batches) {
    if (left === 0) break;
    if (!batch.live || batch[from] === 0) continue;
    const take = Math.min(left, batch[from]);
    takes.push({ id: batch.id, take });
    left -= take;
  }
  if (left !== 0) throw new Error(`reversePayment: ${left} credits to take back found no batch`);
  return takes;
}

/** Lowers the batches and posts one `revoke` entry per batch and the balance through the one write path. */
async function takeBack(
  tx: Database,
  p: { takes: { id: number; take: number }[]; key: string; metadata: Record<string, unknown>; now: Date },
): Promise<void> {
  if (p.takes.length === 0) return;
  const now = p.now.toISOString();
  // `remaining >= take` is checked again in the update: were it ever false, fewer rows would be posted
  // than allocated and the count check below rolls the whole reversal back.
  const [row] = await queryRows<{ revoked: number }>(
    tx,
    sql`
    with takes as (
      select (value->>'id')::bigint as id, (value->>'take')::bigint as take from jsonb_array_elements(${JSON.stringify(p.takes)}::jsonb)
    ), revoked as (
      update credit_batches b set remaining = b.remaining - t.take
        from takes t where b.id = t.id and b.remaining >= t.take and b.expired_at is null
      returning b.id, b.user_id, t.take as lost
    ), lost as (
      select * from revoked
    ), ${postLostCredits({
      kind: 'revoke',
      key: () => sql`${p.key}`,
      total: 'total_consumed',
      jobId: null,
      metadata: JSON.stringify(p.metadata),
      now,
    })}
    select count(*)::int as revoked from revoked`,
  );
  if (row!.revoked !== p.takes.length)
    throw new Error(`reversePayment: ${p.key} could take back from ${row!.revoked} of ${p.takes.length} batches`);
}

/** Records what the reversal is owed by the batches whose credits holds have (taken back when released). */
async function owe(
  tx: Database,
  p: { takes: { id: number; take: number }[]; userId: string; key: string; metadata: Record<string, unknown>; now: Date },
): Promise<void> {
  if (p.takes.length === 0) return;
  await tx.insert(creditTakeBacks).values(
    p.takes.map((t) => ({
      batchId: t.id,
      userId: p.userId,
      operationKey: p.key,
      kind: 'revoke' as const,
      amount: t.take,
      pending: t.take,
      metadata: p.metadata,
      createdAt: p.now,
    })),
  );
}

function statusAfter(payment: Payment, kind: Reversal['kind'], amountRefunded: number): Payment['status'] {
  if (kind === 'dispute') return 'disputed';
  if (amountRefunded === payment.amount) return 'refunded';
  // A partial refund does not hide an open dispute.
  return payment.status === 'disputed' ? 'disputed' : 'partially_refunded';
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** x × a / b in exact integers (the product can pass 2^53), floored or rounded half up. */
function mulDiv(x: number, a: number, b: number, mode: 'floor' | 'round'): number {
  const product = BigInt(x) * BigInt(a);
  const d = BigInt(b);
  return Number(mode === 'floor' ? product / d : (2n * product + d) / (2n * d));
}
