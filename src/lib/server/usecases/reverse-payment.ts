import 'server-only';
import type { Database } from '@/lib/server/db/types';
import type { BillingEventOf } from '@/lib/server/payments/events';
import type { BillingContext, BillingOutcome } from './apply-billing-webhook';

// Being written: throws, so an event it would handle fails (500) and is retried rather than recorded as done.
export async function reversePayment(
  _tx: Database,
  _event: BillingEventOf<'payment_reversed'>,
  _ctx: BillingContext,
): Promise<Omit<BillingOutcome, 'type'>> {
  throw new Error('reversePayment: not written yet');
}
