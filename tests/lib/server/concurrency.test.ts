import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { setupTestDatabase, emptyCreditsTables, onRealServer } from '@tests/helpers/db';
import { at, makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf } from '@tests/helpers/queries';
import { debitCredits } from '@/lib/server/credits/debit';
import { debitCreditsInSteps } from '@/lib/server/credits/debit-in-steps';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { processDueSchedules } from '@/lib/server/usecases/process-due-schedules';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { adjustCredits } from '@/lib/server/usecases/adjust-credits';
import { startSubscription } from '@/lib/server/usecases/start-subscription';
import { grantCredits } from '@/lib/server/usecases/grant-credits';
import { queryRows } from '@/lib/server/db/sql';

// PGlite is one connection in one process: it cannot show what two transactions do to each other.
// These run only against a Postgres server (TEST_DATABASE_URL); .ci/run always runs them there.
if (!onRealServer) console.log('[concurrency] skipped: set TEST_DATABASE_URL to run the locking tests against a Postgres server');

describe.skipIf(!onRealServer)('concurrency on a real Postgres server', () => {
  const t = setupTestDatabase({ maxConnections: 24 });

  // Both debit paths: the one database call the usecases take (credits_debit) and the five-round-trip
  // path kept as the bench's baseline; `consume` passes what consumeCredits passes.
  describe.each([
    ['one call (credits_debit)', 'call', debitCredits],
    ['in steps', 'steps', debitCreditsInSteps],
  ] as const)('consumption, a debit %s', (_path, label, debit) => {
    const consume = (p: { userId: string; amount: number; reason: string; idempotencyKey: string; now?: Date }) =>
      debit(t.db, {
        userId: p.userId,
        amount: p.amount,
        idempotencyKey: p.idempotencyKey,
        kind: 'consume',
        metadata: { reason: p.reason },
        now: p.now ?? new Date(),
      });

    it('50 concurrent consumptions on a user who can afford 30: exactly 30 succeed and the balance is 0', async () => {
      const user = await makeUser(t.db);
      await makeBatch(t.db, { userId: user.id, amount: 20, expiresAt: at('2099-01-01T00:00:00Z') });
      await makeBatch(t.db, { userId: user.id, amount: 10, expiresAt: null });
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          consume({ userId: user.id, amount: 1, reason: 'race', idempotencyKey: `race-${user.id}-${i}` }),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(30);
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'insufficient_credits')).toBe(true);
      expect(await balanceOf(t.db, user.id)).toBe(0);
      await expectInvariants(t.db, user.id);
    });

    it('the same key sent 20 times at once is spent once', async () => {
      const user = await makeUser(t.db);
      await makeBatch(t.db, { userId: user.id, amount: 100 });
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          consume({ userId: user.id, amount: 7, reason: 'double click', idempotencyKey: `same-${user.id}` }),
        ),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      expect(results.filter((r) => r.ok && !r.replayed)).toHaveLength(1);
      expect(await balanceOf(t.db, user.id)).toBe(93);
      await expectInvariants(t.db, user.id);
    });

    it("a retry sent while the call that drained the balance is in flight reports that call's success", async () => {
      for (let i = 0; i < 15; i++) {
        const user = await makeUser(t.db);
        await makeBatch(t.db, { userId: user.id, amount: 10 });
        const key = `drain-${user.id}`;
        const [first, retry] = await Promise.all([
          consume({ userId: user.id, amount: 10, reason: 'drain', idempotencyKey: key }),
          consume({ userId: user.id, amount: 10, reason: 'drain', idempotencyKey: key }),
        ]);
        expect([first, retry]).toEqual(expect.arrayContaining([expect.objectContaining({ ok: true, replayed: false })]));
        expect(first.ok && retry.ok).toBe(true);
        expect(await balanceOf(t.db, user.id)).toBe(0);
      }
      await expectInvariants(t.db);
    });

    it('consumption, grants, installments, adjustments and expiry on the same users at once: no deadlock escapes, nothing negative', async () => {
      const users = await Promise.all(Array.from({ length: 40 }, () => makeUser(t.db)));
      const start = at('2026-01-10T00:00:00Z');
      for (const [i, user] of users.entries()) {
        await makeBatch(t.db, { userId: user.id, amount: 30, expiresAt: at('2026-03-01T00:00:00Z'), now: start });
        await makeBatch(t.db, { userId: user.id, amount: 20, expiresAt: null, now: start });
        if (i % 3 === 0)
          await startSubscription(t.db, { userId: user.id, planId: 'pro-yearly', subscriptionId: `sub-${user.id}`, now: start });
      }
      const now = at('2026-03-15T00:00:00Z');
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        const user = users[(i * 7) % users.length]!;
        work.push(consume({ userId: user.id, amount: 1 + (i % 9), reason: 'storm', idempotencyKey: `storm-${label}-${i}`, now }));
        if (i % 25 === 0) work.push(grantMonthlyCredits(t.db, { trigger: 'test', now, chunkSize: 7 }));
        if (i % 25 === 5) work.push(expireCredits(t.db, { trigger: 'test', now, chunkSize: 5 }));
        if (i % 25 === 10) work.push(processDueSchedules(t.db, { trigger: 'test', now, chunkSize: 3, limit: 500 }));
        if (i % 10 === 3)
          work.push(
            i % 20 === 3
              ? adjustCredits(t.db, { userId: user.id, delta: 5, reason: 'ops', idempotencyKey: `adj-${label}-${i}`, now })
              : debit(t.db, {
                  userId: user.id,
                  amount: 2,
                  kind: 'adjust',
                  metadata: { reason: 'ops' },
                  idempotencyKey: `adj-${label}-${i}`,
                  now,
                }),
          );
      }
      const settled = await Promise.allSettled(work);
      const rejected = settled.filter((s) => s.status === 'rejected');
      expect(rejected.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
      const [negative] = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from credit_balances where balance < 0`);
      expect(negative!.n).toBe(0);
      await expectInvariants(t.db);
    });

    it('one key raced as a grant and as a spend, for the same user or two users: only one of them takes it', async () => {
      for (let round = 0; round < 20; round++) {
        const granted = await makeUser(t.db);
        const spender = round % 2 === 0 ? granted : await makeUser(t.db);
        await makeBatch(t.db, { userId: spender.id, amount: 100 });
        const key = `contested-${label}-${round}-${granted.id}`;
        const [grant, spend] = await Promise.all([
          grantCredits(t.db, { userId: granted.id, amount: 10, source: 'admin', category: 'paid', expiresAt: null, idempotencyKey: key }),
          consume({ userId: spender.id, amount: 5, reason: 'race', idempotencyKey: key }),
        ]);
        expect([grant.ok, spend.ok].filter(Boolean)).toHaveLength(1);
        const [uses] = await queryRows<{ batches: number; operations: number; entries: number }>(
          t.db,
          sql`select (select count(*) from credit_batches where idempotency_key = ${key})::int as batches,
                     (select count(*) from credit_operations where key = ${key})::int as operations,
                     (select count(distinct kind) from credit_ledger where operation_key = ${key})::int as entries`,
        );
        expect(uses!.operations).toBe(1);
        expect(uses!.entries).toBe(1);
        expect(uses!.batches).toBe(grant.ok ? 1 : 0);
      }
      await expectInvariants(t.db);
    });
  });

  it('two grant jobs and two schedule jobs at once over the same 2 000 users grant every credit exactly once', async () => {
    await emptyCreditsTables(t.db);
    await t.db.execute(
      sql`insert into users (id, name, email, email_verified) select 'u' || lpad(g::text, 5, '0'), 'User ' || g, 'u' || g || '@example.test', true from generate_series(1, 2000) g`,
    );
    const anchor = at('2025-01-15T00:00:00Z');
    const yearlyIds = Array.from({ length: 1000 }, (_, i) => `u${String(2 * i + 2).padStart(5, '0')}`); // every even user
    for (let i = 0; i < yearlyIds.length; i += 20) {
      await Promise.all(
        yearlyIds
          .slice(i, i + 20)
          .map((userId) => startSubscription(t.db, { userId, planId: 'pro-yearly', subscriptionId: `sub-${userId}`, now: anchor })),
      );
    }
    const now = at('2025-04-20T00:00:00Z'); // three installments overdue for every yearly user
    const [grantA, grantB, schedA, schedB] = await Promise.all([
      grantMonthlyCredits(t.db, { trigger: 'test', now, chunkSize: 250 }),
      grantMonthlyCredits(t.db, { trigger: 'test', now, chunkSize: 250 }),
      processDueSchedules(t.db, { trigger: 'test', now, limit: 5000, chunkSize: 100 }),
      processDueSchedules(t.db, { trigger: 'test', now, limit: 5000, chunkSize: 100 }),
    ]);
    expect(grantA.results.successful + grantB.results.successful).toBe(1000); // the odd users' free month
    expect(grantA.results.failed + grantB.results.failed).toBe(0);
    expect(schedA.processed + schedB.processed).toBe(3000);
    expect(schedA.schedulesTouched + schedB.schedulesTouched).toBe(1000);
    const [counts] = await queryRows<{ free: number; installments: number; dup_keys: number; wrong_users: number }>(
      t.db,
      sql`select count(*) filter (where source = 'free')::int as free,
                 count(*) filter (where source = 'schedule')::int as installments,
                 (select count(*) from (select idempotency_key from credit_batches group by 1 having count(*) > 1) d)::int as dup_keys,
                 (select count(*) from (select user_id from credit_batches where source = 'schedule' group by 1 having count(*) <> 4) w)::int as wrong_users
            from credit_batches`,
    );
    expect(counts).toEqual({ free: 1000, installments: 4000, dup_keys: 0, wrong_users: 0 });
    await expectInvariants(t.db);
  });

  it('a dry run of the installment job locks nothing: a real run at the same moment pays every due schedule', async () => {
    await emptyCreditsTables(t.db);
    await t.db.execute(
      sql`insert into users (id, name, email, email_verified) select 'd' || lpad(g::text, 4, '0'), 'User ' || g, 'd' || g || '@example.test', true from generate_series(1, 300) g`,
    );
    for (let i = 1; i <= 300; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) => `d${String(i + j).padStart(4, '0')}`).map((userId) =>
          startSubscription(t.db, { userId, planId: 'pro-yearly', subscriptionId: `sub-${userId}`, now: at('2025-01-15T00:00:00Z') }),
        ),
      );
    }
    const now = at('2025-02-20T00:00:00Z');
    const [, real] = await Promise.all([
      processDueSchedules(t.db, { trigger: 'test', now, dryRun: true, chunkSize: 300 }),
      new Promise((resolve) => setTimeout(resolve, 15)).then(() => processDueSchedules(t.db, { trigger: 'test', now, chunkSize: 10 })),
    ]);
    expect(real).toMatchObject({ processed: 300, hasMore: false });
    await expectInvariants(t.db);
  });

  it('a subscription id raced by a duplicated webhook and by another user: one start, one replay, one refusal', async () => {
    for (let round = 0; round < 10; round++) {
      const user = await makeUser(t.db);
      const other = await makeUser(t.db);
      const id = `sub_dup_${round}_${user.id}`;
      const start = (userId: string) =>
        startSubscription(t.db, { userId, planId: 'pro-monthly', subscriptionId: id, now: at('2026-01-15T00:00:00Z') });
      const asked = [user.id, user.id, other.id];
      const results = await Promise.all(asked.map(start));
      const winner = results.findIndex((r) => r.ok && !r.replayed);
      expect(winner).toBeGreaterThanOrEqual(0);
      const owner = asked[winner];
      // Whoever came first owns the id: the owner's duplicate replays, the other user's start is refused.
      results.forEach((r, i) => {
        if (i === winner) return;
        if (asked[i] === owner) expect(r).toMatchObject({ ok: true, replayed: true, subscription: { userId: owner } });
        else expect(r).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
      });
      const [counts] = await queryRows<{ subs: number; batches: number }>(
        t.db,
        sql`select (select count(*) from subscriptions where id = ${id})::int as subs,
                   (select count(*) from credit_batches where subscription_id = ${id})::int as batches`,
      );
      expect(counts).toEqual({ subs: 1, batches: 1 });
    }
    await expectInvariants(t.db);
  });
});
