import 'server-only';
import type { Database } from '@/lib/server/db/types';
import type { BillingEventOf } from '@/lib/server/payments/events';
import type { BillingContext, BillingOutcome } from './apply-billing-webhook';

// Being written: throws, so an event it would handle fails (500) and is retried rather than recorded as done.
export async function recordSubscriptionPayment(
  _tx: Database,
  _event: BillingEventOf<'subscription_period_paid'>,
  _ctx: BillingContext,
): Promise<Omit<BillingOutcome, 'type'>> {
  throw new Error('recordSubscriptionPayment: not written yet');
}
