import type { CreditSource, LedgerKind } from '@/lib/server/db/schema';
import type { NextGrant } from '@/lib/server/usecases/get-credit-summary';

export const kindLabels: Record<LedgerKind, string> = {
  grant: 'Granted',
  consume: 'Spent',
  expire: 'Expired',
  refund: 'Refunded',
  revoke: 'Payment refunded',
  adjust: 'Adjusted',
  void: 'Voided',
  reserve: 'Reserved',
  capture: 'Spent from reserved',
  release: 'Reserved, given back',
};

export const sourceLabels: Record<CreditSource, string> = {
  signup: 'Sign-up bonus',
  free: 'Free monthly credits',
  subscription: 'Monthly subscription',
  lifetime: 'Lifetime plan',
  schedule: 'Yearly plan installment',
  purchase: 'Credit pack',
  admin: 'Adjustment',
};

/** The line under the next grant: which plan it comes from and why. */
export function describeNextGrant(grant: Pick<NextGrant, 'source' | 'planName'>): string {
  switch (grant.source) {
    case 'free':
      return 'Free monthly credits, while you have no paid plan';
    case 'subscription':
      return `${grant.planName}: next billing period`;
    case 'lifetime':
      return `${grant.planName}: next month's credits`;
    case 'schedule':
      return `${grant.planName}: next installment`;
  }
}

export const reasonLabels: Record<string, string> = {
  'demo-action': 'Demo action',
};
