import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { setupTestDatabase, onRealServer } from '@tests/helpers/db';
import { at, makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceAndHeld } from '@tests/helpers/holds';
import { queryRows } from '@/lib/server/db/sql';
import { captureCredits } from '@/lib/server/usecases/capture-credits';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { releaseCredits } from '@/lib/server/usecases/release-credits';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';

// PGlite is one connection in one process: it cannot show what two transactions do to each other.
// These run only against a Postgres server (TEST_DATABASE_URL), and say so when skipped.
if (!onRealServer) console.log('[holds concurrency] skipped: set TEST_DATABASE_URL to run the locking tests against a Postgres server');

describe.runIf(onRealServer)('holds under concurrency on a real Postgres server', () => {
  const t = setupTestDatabase({ maxConnections: 24 });
  const now = at('2026-06-15T12:00:00Z');

  it('50 concurrent reserves on a user who can afford 30: exactly 30 holds, the rest insufficient_credits', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 20, expiresAt: at('2099-01-01T00:00:00Z'), now: at('2026-06-01T00:00:00Z') });
    await makeBatch(t.db, { userId: user.id, amount: 10, now: at('2026-06-01T00:00:00Z') });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => reserveCredits(t.db, { userId: user.id, amount: 1, key: `race-${user.id}-${i}`, now })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(30);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'insufficient_credits')).toBe(true);
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 0, held: 30 });
    await expectInvariants(t.db, user.id);
  });

  it('reserves and spends racing on one user never overspend', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 30, now: at('2026-06-01T00:00:00Z') });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? reserveCredits(t.db, { userId: user.id, amount: 1, key: `r-${user.id}-${i}`, now })
          : consumeCredits(t.db, { userId: user.id, amount: 1, reason: 'race', idempotencyKey: `s-${user.id}-${i}`, now }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(30);
    const { balance, held } = await balanceAndHeld(t.db, user.id);
    expect(balance).toBe(0);
    expect(held).toBe(results.filter((r, i) => r.ok && i % 2 === 0).length);
    await expectInvariants(t.db, user.id);
  });

  it('one hold key sent 20 times at once reserves once; the others replay it', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 100, now: at('2026-06-01T00:00:00Z') });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => reserveCredits(t.db, { userId: user.id, amount: 7, key: `same-${user.id}`, now })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.filter((r) => r.ok && !r.replayed)).toHaveLength(1);
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 93, held: 7 });
    await expectInvariants(t.db, user.id);
  });

  it('a capture and a release racing on one hold: exactly one wins, the other is refused', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 100, now: at('2026-06-01T00:00:00Z') });
    for (let i = 0; i < 10; i++) {
      const key = `duel-${user.id}-${i}`;
      await reserveCredits(t.db, { userId: user.id, amount: 10, key, now });
      const [captured, released] = await Promise.all([
        captureCredits(t.db, { holdKey: key, now }),
        releaseCredits(t.db, { holdKey: key, now }),
      ]);
      expect([captured.ok, released.ok].filter(Boolean)).toHaveLength(1);
      if (!captured.ok) expect(captured.reason).toBe('hold_released');
      if (!released.ok) expect(released.reason).toBe('hold_captured');
    }
    await expectInvariants(t.db, user.id);
  });

  it('captures, releases and reserves racing the expiry of held batches and the hold-timeout release: every hold settled once, nothing double-counted', async () => {
    const reservedAt = at('2026-06-15T12:00:00Z');
    const batchExpiry = at('2026-06-15T12:00:30Z'); // the first batch expires while its credits are held
    const holdExpiry = at('2026-06-15T12:01:00Z'); // the holds' time (ttl 60 s)
    const users = [];
    for (let u = 0; u < 12; u++) {
      const user = await makeUser(t.db);
      await makeBatch(t.db, { userId: user.id, amount: 30, expiresAt: batchExpiry, now: at('2026-06-01T00:00:00Z') });
      await makeBatch(t.db, { userId: user.id, amount: 30, now: at('2026-06-01T00:00:00Z') });
      for (let h = 0; h < 3; h++) {
        const reserved = await reserveCredits(t.db, {
          userId: user.id,
          amount: 15,
          key: `h${h}-${user.id}`,
          ttlSeconds: 60,
          now: reservedAt,
        });
        expect(reserved.ok).toBe(true);
      }
      users.push(user);
    }
    const calls: Promise<unknown>[] = [];
    for (const [u, user] of users.entries()) {
      calls.push(captureCredits(t.db, { holdKey: `h0-${user.id}`, amount: 10, now: batchExpiry }));
      calls.push(releaseCredits(t.db, { holdKey: `h1-${user.id}`, now: batchExpiry }));
      calls.push(captureCredits(t.db, { holdKey: `h2-${user.id}`, now: holdExpiry })); // too late: refused, released
      // Half the users come back after the holds' time (their reserve releases them first); the job releases the others'.
      if (u % 2 === 0)
        calls.push(reserveCredits(t.db, { userId: user.id, amount: 5, key: `late-${user.id}`, ttlSeconds: 60, now: holdExpiry }));
    }
    for (let i = 0; i < 3; i++) {
      calls.push(expireCredits(t.db, { trigger: 'test', now: batchExpiry, chunkSize: 5 }));
      calls.push(expireCredits(t.db, { trigger: 'test', now: holdExpiry, chunkSize: 5 }));
    }
    const outcomes = await Promise.all(calls.sort(() => Math.random() - 0.5));
    expect(outcomes).toHaveLength(users.length * 3 + users.length / 2 + 6);
    // Whatever the order, the last word: one more run at the holds' expiry settles everything still held.
    await expireCredits(t.db, { trigger: 'test', now: holdExpiry });

    const [unsettled] = await queryRows<{ n: number }>(
      t.db,
      sql`select count(*)::int as n from credit_holds where status = 'held' and expires_at <= ${holdExpiry.toISOString()}::timestamptz`,
    );
    expect(unsettled!.n).toBe(0);
    // Nothing counted twice: what the holds captured is what the balances consumed, what the ledger
    // expired is what the balances expired, and every user's credits add up (the invariants).
    const ids = JSON.stringify(users.map((user) => user.id));
    const ours = sql`user_id in (select value from jsonb_array_elements_text(${ids}::jsonb))`;
    const [totals] = await queryRows<Record<'captured' | 'consumed' | 'expiredEntries' | 'expired' | 'granted' | 'left', number>>(
      t.db,
      sql`select (select coalesce(sum(captured), 0) from credit_holds where ${ours})::float8 as captured,
                 (select coalesce(sum(total_consumed), 0) from credit_balances where ${ours})::float8 as consumed,
                 (select coalesce(-sum(delta), 0) from credit_ledger where kind = 'expire' and ${ours})::float8 as "expiredEntries",
                 (select coalesce(sum(total_expired), 0) from credit_balances where ${ours})::float8 as expired,
                 (select coalesce(sum(total_granted), 0) from credit_balances where ${ours})::float8 as granted,
                 (select coalesce(sum(balance + held), 0) from credit_balances where ${ours})::float8 as "left"`,
    );
    expect(totals!.consumed).toBe(totals!.captured);
    expect(totals!.expiredEntries).toBe(totals!.expired);
    expect(totals!.granted).toBe(users.length * 60);
    expect(totals!.left + totals!.consumed + totals!.expired).toBe(totals!.granted);
    await expectInvariants(t.db);
  });
});
