import { expect } from 'vitest';
import type { Database } from '@/lib/server/db/types';
import { checkInvariants } from '@/lib/server/usecases/check-invariants';

/** The contract's invariants, asserted at the end of every scenario. */
export async function expectInvariants(db: Database, userId?: string) {
  const { violations } = await checkInvariants(db, { userId });
  expect(violations).toEqual([]);
}
