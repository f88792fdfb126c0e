import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createTestDatabase, emptyCreditsTables, type TestDatabase } from '../../../helpers/db';
import { at, makeBatch, makeSubscription, makeUser } from '../../../helpers/factories';
import { checkInvariants, type InvariantViolation } from '@/lib/server/usecases/check-invariants';
import { expireCredits } from '@/lib/server/usecases/expire-credits';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});
beforeEach(async () => {
  await emptyCreditsTables(t.db);
});

async function rulesBroken(userId?: string): Promise<InvariantViolation['rule'][]> {
  const { violations } = await checkInvariants(t.db, { userId });
  return [...new Set(violations.map((v) => v.rule))].sort();
}

describe('the invariant check', () => {
  it('finds nothing wrong with data written by the usecases', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 10, expiresAt: at('2026-02-01T00:00:00Z'), now: at('2026-01-01T00:00:00Z') });
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-yearly', now: at('2026-01-01T00:00:00Z') });
    await expireCredits(t.db, { trigger: 'test', now: at('2026-02-01T00:00:00Z') });
    expect(await checkInvariants(t.db)).toEqual({ ok: true, violations: [] });
  });

  it.each([
    ['a balance edited by hand', sql`update credit_balances set balance = balance + 5`, ['balance_matches_batches', 'balance_matches_ledger', 'balance_matches_totals']],
    ['a batch edited by hand', sql`update credit_batches set remaining = remaining - 1`, ['balance_matches_batches']],
    ['a deleted ledger entry', sql`delete from credit_ledger`, ['balance_matches_ledger', 'batch_has_one_grant']],
    ['a duplicated grant entry', sql`insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key) select user_id, delta, balance_after, 'adjust', batch_id, 'dup' from credit_ledger`, ['balance_matches_ledger', 'batch_has_one_grant']],
    ['an expired batch without its expire entry', sql`update credit_batches set expired_at = now(), expired_amount = remaining, remaining = 0`, ['balance_matches_batches', 'expired_batch_entries']],
  ])('detects %s', async (_name, corruption, expected) => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 10 });
    await t.db.execute(corruption);
    expect(await rulesBroken()).toEqual(expected);
    expect(await rulesBroken(user.id)).toEqual(expected);
  });

  it('detects a schedule whose progress disagrees with its batches', async () => {
    const user = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-yearly', now: at('2026-01-01T00:00:00Z') });
    await t.db.execute(sql`update credit_schedules set installments_done = 2, credits_granted = 1666, credits_remaining = 8334`);
    expect(await rulesBroken(user.id)).toEqual(['schedule_matches_batches']);
  });

  it('scoped to one user, it ignores the others', async () => {
    const broken = await makeUser(t.db);
    const fine = await makeUser(t.db);
    await makeBatch(t.db, { userId: broken.id, amount: 10 });
    await makeBatch(t.db, { userId: fine.id, amount: 10 });
    await t.db.execute(sql`update credit_balances set balance = 3 where user_id = ${broken.id}`);
    expect(await rulesBroken(fine.id)).toEqual([]);
    expect((await checkInvariants(t.db, { userId: broken.id })).violations[0]).toMatchObject({ userId: broken.id, subject: broken.id });
  });
});
