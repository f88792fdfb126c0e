import 'server-only';
import type { Database } from '@/lib/server/db/types';
import type { BillingEventOf } from '@/lib/server/payments/events';
import type { BillingContext, BillingOutcome } from './apply-billing-webhook';

// Being written: throws, so an event it would handle fails (500) and is retried rather than recorded as done.
export async function recordOneTimePayment(
  _tx: Database,
  _event: BillingEventOf<'one_time_payment_succeeded'>,
  _ctx: BillingContext,
): Promise<Omit<BillingOutcome, 'type'>> {
  throw new Error('recordOneTimePayment: not written yet');
}
