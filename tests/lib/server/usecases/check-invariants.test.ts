import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeSubscription, makeUser } from '@tests/helpers/factories';
import { checkInvariants, type InvariantViolation } from '@/lib/server/usecases/check-invariants';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { corrupt } from '@tests/helpers/corrupt';

const t = setupTestDatabase({ emptyBeforeEach: true });

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
    [
      'a balance edited by hand',
      sql`update credit_balances set balance = balance + 5`,
      ['balance_matches_batches', 'balance_matches_ledger', 'balance_matches_totals'],
    ],
    [
      'a batch edited by hand',
      sql`update credit_batches set remaining = remaining - 1`,
      ['balance_matches_batches', 'batch_matches_entries'],
    ],
    [
      'a deleted ledger entry',
      sql`delete from credit_ledger`,
      ['balance_matches_ledger', 'batch_has_one_grant', 'batch_matches_entries', 'operation_matches_entries'],
    ],
    [
      'a duplicated grant entry',
      sql`insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key) select user_id, delta, balance_after, 'adjust', batch_id, 'dup' from credit_ledger`,
      ['balance_matches_ledger', 'batch_has_one_grant', 'batch_matches_entries', 'ledger_chain'],
    ],
    [
      'an expired batch without its expire entry',
      sql`update credit_batches set expired_at = now(), expired_amount = remaining, remaining = 0`,
      ['balance_matches_batches', 'batch_matches_entries', 'expired_batch_entries'],
    ],
  ])('detects %s', async (_name, corruption, expected) => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 10 });
    await corrupt(t.db, corruption);
    expect(await rulesBroken()).toEqual(expected);
    expect(await rulesBroken(user.id)).toEqual(expected);
  });

  it('detects a schedule whose progress disagrees with its batches', async () => {
    const user = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-yearly', now: at('2026-01-01T00:00:00Z') });
    await corrupt(t.db, sql`update credit_schedules set installments_done = 2, credits_granted = 1666, credits_remaining = 8334`);
    expect(await rulesBroken(user.id)).toEqual(['schedule_matches_batches']);
  });

  it('scoped to one user, it ignores the others', async () => {
    const broken = await makeUser(t.db);
    const fine = await makeUser(t.db);
    await makeBatch(t.db, { userId: broken.id, amount: 10 });
    await makeBatch(t.db, { userId: fine.id, amount: 10 });
    await corrupt(t.db, sql`update credit_balances set balance = 3 where user_id = ${broken.id}`);
    expect(await rulesBroken(fine.id)).toEqual([]);
    expect((await checkInvariants(t.db, { userId: broken.id })).violations[0]).toMatchObject({ userId: broken.id, subject: broken.id });
  });

  describe('corruptions that leave every total unchanged', () => {
    // One user with two batches, part of the first spent: the shape every rule below is tried on.
    async function spentUser() {
      const user = await makeUser(t.db);
      const first = await makeBatch(t.db, { userId: user.id, amount: 10, expiresAt: at('2099-01-01T00:00:00Z') });
      const second = await makeBatch(t.db, { userId: user.id, amount: 10 });
      const spent = await consumeCredits(t.db, { userId: user.id, amount: 6, reason: 'test', idempotencyKey: `spend-${user.id}` });
      expect(spent.ok).toBe(true);
      return { user, first, second };
    }

    it('credits moved from one batch to another of the same user break the per-batch reconciliation', async () => {
      const { user, first, second } = await spentUser();
      await corrupt(t.db, sql`update credit_batches set remaining = remaining + 2 where id = ${first.id}`);
      await corrupt(t.db, sql`update credit_batches set remaining = remaining - 2 where id = ${second.id}`);
      const { violations } = await checkInvariants(t.db);
      expect(violations.map((v) => [v.rule, v.userId, v.subject])).toEqual([
        ['batch_matches_entries', user.id, `batch ${first.id}`],
        ['batch_matches_entries', user.id, `batch ${second.id}`],
      ]);
    });

    it("an altered balance_after breaks the chain of the user's ledger", async () => {
      const { user } = await spentUser();
      await corrupt(
        t.db,
        sql`update credit_ledger set balance_after = balance_after + 1
                              where id = (select min(id) from credit_ledger where user_id = ${user.id})`,
      );
      const { violations } = await checkInvariants(t.db);
      expect(violations.map((v) => [v.rule, v.userId])).toEqual([['ledger_chain', user.id]]);
    });

    it('a consumption whose recorded amount no longer matches its ledger entries', async () => {
      const { user } = await spentUser();
      await corrupt(t.db, sql`update credit_operations set amount = amount + 1 where key = ${`spend-${user.id}`}`);
      const { violations } = await checkInvariants(t.db);
      expect(violations.map((v) => [v.rule, v.userId, v.subject])).toEqual([
        ['operation_matches_entries', user.id, `operation spend-${user.id}`],
      ]);
    });

    it('a user whose balance row is missing (a partial restore)', async () => {
      const { user } = await spentUser();
      await corrupt(t.db, sql`delete from credit_balances where user_id = ${user.id}`);
      expect(await rulesBroken()).toEqual(['balance_row_missing']);
      expect(await rulesBroken(user.id)).toEqual(['balance_row_missing']);
    });
  });
});
