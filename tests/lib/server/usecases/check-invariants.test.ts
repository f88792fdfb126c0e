import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeSubscription, makeUser } from '@tests/helpers/factories';
import { checkInvariants, type InvariantViolation } from '@/lib/server/usecases/check-invariants';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { captureCredits } from '@/lib/server/usecases/capture-credits';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';
import { corrupt } from '@tests/helpers/corrupt';

type Keys = { settled: string; open: string; untouchedId: number; lastId: number };

/** A take-back row that owes `pending` credits of a batch, written by hand. */
const owing = (batchId: number, pending: number) => sql`
  insert into credit_take_backs (batch_id, user_id, operation_key, kind, amount, pending, metadata, created_at)
  select id, user_id, 'void:by-hand:' || id, 'void', ${pending}, ${pending}, null, now() from credit_batches where id = ${batchId}`;

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

  describe('holds', () => {
    // One user with two holds on batches `first` (expires first) and `last`: `settled` captured 35 of 50
    // (so 15 went back to `last`), `open` still holds 10 of `last`; `untouched` no hold ever took from.
    async function userWithHolds() {
      const user = await makeUser(t.db);
      const now = at('2026-06-15T12:00:00Z');
      const first = await makeBatch(t.db, { userId: user.id, amount: 30, expiresAt: at('2099-01-01T00:00:00Z'), now });
      const last = await makeBatch(t.db, { userId: user.id, amount: 40, now });
      const untouched = await makeBatch(t.db, { userId: user.id, amount: 5, now });
      const settled = `settled-${user.id}`;
      const open = `open-${user.id}`;
      expect(await reserveCredits(t.db, { userId: user.id, amount: 50, key: settled, now })).toMatchObject({ ok: true });
      expect(await captureCredits(t.db, { holdKey: settled, amount: 35, now })).toMatchObject({ ok: true, released: 15 });
      expect(await reserveCredits(t.db, { userId: user.id, amount: 10, key: open, now })).toMatchObject({ ok: true });
      return { user, first, last, untouched, settled, open };
    }

    it('finds nothing wrong with holds written by the usecases', async () => {
      await userWithHolds();
      expect(await checkInvariants(t.db)).toEqual({ ok: true, violations: [] });
    });

    it.each([
      [
        'a held amount edited by hand',
        () => sql`update credit_balances set held = held + 5`,
        ['balance_matches_totals', 'held_matches_holds'],
      ],
      [
        'credits held by hand (taken from the balance into held, with no hold)',
        () => sql`update credit_balances set held = held + 5, balance = balance - 5`,
        ['balance_matches_batches', 'balance_matches_ledger', 'held_matches_holds'],
      ],
      [
        'an open hold marked captured without its capture entry',
        (k: Keys) => sql`update credit_holds set status = 'captured', captured = amount, settled_at = now() where key = ${k.open}`,
        ['held_matches_holds', 'hold_matches_entries'],
      ],
      [
        'a captured hold put back to held (credits released while held)',
        (k: Keys) => sql`update credit_holds set status = 'held', captured = 0, released = 0, settled_at = null where key = ${k.settled}`,
        ['held_matches_holds', 'hold_matches_entries'],
      ],
      [
        'a capture recorded for more than the hold says',
        (k: Keys) => sql`update credit_holds set captured = captured + 1, released = released - 1 where key = ${k.settled}`,
        ['hold_matches_entries'],
      ],
      [
        'a release entry deleted',
        () => sql`delete from credit_ledger where kind = 'release'`,
        ['balance_matches_ledger', 'batch_matches_entries', 'hold_matches_entries', 'ledger_chain'],
      ],
      [
        'a hold deleted',
        (k: Keys) => sql`delete from credit_holds where key = ${k.open}`,
        ['held_matches_holds', 'hold_entry_without_hold'],
      ],
      [
        'a hold whose amount disagrees with what its reserve took',
        (k: Keys) => sql`update credit_holds set amount = amount + 1 where key = ${k.open}`,
        ['held_matches_holds', 'hold_matches_entries'],
      ],
      [
        'a release given to a batch the hold never took from',
        (k: Keys) =>
          sql`update credit_ledger set batch_id = ${k.untouchedId} where kind = 'release' and operation_key = ${`release:${k.settled}`}`,
        ['batch_matches_entries', 'hold_release_within_reserve'],
      ],
      [
        'a refund owed credits of a batch no hold has (they would never be taken back)',
        (k: Keys) => owing(k.untouchedId, 1),
        ['take_back_within_held'],
      ],
      [
        'a void owed more of a batch than its holds have (a release that did not pay it back)',
        (k: Keys) => owing(k.lastId, 11),
        ['take_back_within_held'],
      ],
    ])('detects %s', async (_name, corruption, expected) => {
      const { user, last, untouched, settled, open } = await userWithHolds();
      await corrupt(t.db, corruption({ settled, open, untouchedId: untouched.id, lastId: last.id }));
      expect(await rulesBroken()).toEqual(expected);
      expect(await rulesBroken(user.id)).toEqual(expected);
    });
  });
});
