import 'server-only';
import type { Database } from '@/lib/server/db/types';
import type { BillingEventOf } from '@/lib/server/payments/events';
import type { BillingContext, BillingOutcome } from './apply-billing-webhook';

// Being written: throws, so an event it would handle fails (500) and is retried rather than recorded as done.
export async function recordPlanChangePayment(
  _tx: Database,
  _event: BillingEventOf<'plan_change_paid'>,
  _ctx: BillingContext,
): Promise<Omit<BillingOutcome, 'type'>> {
  throw new Error('recordPlanChangePayment: not written yet');
}
