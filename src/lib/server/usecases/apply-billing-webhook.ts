import 'server-only';
import { sql } from 'drizzle-orm';
import { creditsConfig as defaultConfig, type CreditsConfig } from '@/config/credits';
import { billingEvents, type PaymentProviderId } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { transaction } from '@/lib/server/db/sql';
import type { BillingEvent, VerifiedWebhook } from '@/lib/server/payments/events';
import { recordOneTimePayment } from './record-one-time-payment';
import { recordSubscriptionPayment } from './record-subscription-payment';
import { recordPlanChangePayment } from './record-plan-change-payment';
import { updateSubscriptionState } from './update-subscription-state';
import { reversePayment } from './reverse-payment';
import { sendReceipts } from './send-receipts';

export type BillingContext = {
  provider: PaymentProviderId;
  now: Date;
  config: CreditsConfig;
  /** Payments recorded by this transaction (not replayed ones): each gets its receipt once it commits. */
  receipts: string[];
};

/** What one normalized event did: `applied`, `replayed` (already done), or `ignored` with the reason (nothing written). */
export type BillingOutcome = { type: BillingEvent['type']; result: 'applied' | 'replayed' | 'ignored'; detail?: string };

type Options = { now?: Date; config?: CreditsConfig };

/**
 * Applies one verified webhook in one transaction: its event id is recorded first (a redelivery, even a
 * concurrent one, waits on that row and answers `duplicate`), then each normalized event. Anything that
 * throws rolls it all back, the event id included, so the provider's retry runs it again. After the
 * commit, each payment it recorded gets its receipt mail (a redelivery recorded none, so sends none);
 * a mail that fails is logged and changes nothing of what was applied (see send-receipts.ts).
 */
export async function applyBillingWebhook(
  db: Database,
  webhook: VerifiedWebhook,
  options: Options = {},
): Promise<{ duplicate: boolean; outcomes: BillingOutcome[] }> {
  const ctx = context(webhook.provider, options);
  const applied = await transaction(db, async (tx) => {
    ctx.receipts = []; // a retried transaction starts over
    const [recorded] = await tx
      .insert(billingEvents)
      .values({ provider: webhook.provider, eventId: webhook.eventId, type: webhook.eventType, receivedAt: ctx.now })
      .onConflictDoNothing()
      .returning({ eventId: billingEvents.eventId });
    if (!recorded) return { duplicate: true, outcomes: [] };
    const outcomes = await applyEach(tx, webhook.events, ctx);
    await tx.execute(
      sql`update billing_events set outcome = ${JSON.stringify(outcomes)}::jsonb
           where provider = ${webhook.provider} and event_id = ${webhook.eventId}`,
    );
    return { duplicate: false, outcomes };
  });
  await sendReceipts(db, { paymentIds: ctx.receipts, config: ctx.config });
  return applied;
}

/**
 * Applies normalized events that did not come from a webhook (the success page's fulfilment, the test
 * checkout): the same handlers and keys, in one transaction, with no event id to record; then the
 * receipts of the payments it recorded, as a webhook does.
 */
export async function applyBillingEvents(
  db: Database,
  params: { provider: PaymentProviderId; events: BillingEvent[] } & Options,
): Promise<BillingOutcome[]> {
  const ctx = context(params.provider, params);
  const outcomes = await transaction(db, (tx) => {
    ctx.receipts = [];
    return applyEach(tx, params.events, ctx);
  });
  await sendReceipts(db, { paymentIds: ctx.receipts, config: ctx.config });
  return outcomes;
}

function context(provider: PaymentProviderId, options: Options): BillingContext {
  return { provider, now: options.now ?? new Date(), config: options.config ?? defaultConfig, receipts: [] };
}

async function applyEach(tx: Database, events: BillingEvent[], ctx: BillingContext): Promise<BillingOutcome[]> {
  const outcomes: BillingOutcome[] = [];
  for (const event of events) outcomes.push({ type: event.type, ...(await applyOne(tx, event, ctx)) });
  return outcomes;
}

async function applyOne(tx: Database, event: BillingEvent, ctx: BillingContext): Promise<Omit<BillingOutcome, 'type'>> {
  switch (event.type) {
    case 'one_time_payment_succeeded':
      return recordOneTimePayment(tx, event, ctx);
    case 'subscription_period_paid':
      return recordSubscriptionPayment(tx, event, ctx);
    case 'plan_change_paid':
      return recordPlanChangePayment(tx, event, ctx);
    case 'subscription_state_changed':
    case 'subscription_ended':
    case 'payment_failed':
      return updateSubscriptionState(tx, event, ctx);
    case 'payment_reversed':
      return reversePayment(tx, event, ctx);
  }
}
