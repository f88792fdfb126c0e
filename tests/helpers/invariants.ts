import { expect } from 'vitest';
import type { Database } from '@/lib/server/db/types';
import { checkInvariants } from '@/lib/server/usecases/check-invariants';

/** The invariants of docs/credits.md, asserted at the end of every scenario. */
export async function expectInvariants(db: Database, userId?: string) {
  const { violations } = await checkInvariants(db, { userId });
  expect(violations).toEqual([]);
}

/**
 * Where the user's ledger leaves its chain (an entry whose balance_after is not the sum of the entries
 * up to it: a change made from a stale balance), by the invariant check's own `ledger_chain` rule.
 */
export async function ledgerChainBreaks(db: Database, userId: string) {
  const { violations } = await checkInvariants(db, { userId });
  return violations.filter((v) => v.rule === 'ledger_chain');
}
