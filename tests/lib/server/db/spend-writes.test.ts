import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { onRealServer, setupTestDatabase } from '@tests/helpers/db';
import { makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { errorCodeOf } from '@tests/helpers/queries';
import { queryRows } from '@/lib/server/db/sql';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';

// What a spend writes, kept small (migration 0014, docs/performance.md): its entries reference the
// balance row it has locked anyway, its batch is updated in place, and its statements are planned once.

// One connection: the statistics read below are the ones this connection's spends reported.
const t = setupTestDatabase({ maxConnections: 1 });

const spend = (userId: string, key: string) =>
  consumeCredits(t.db, { userId, amount: 1, reason: 'export', idempotencyKey: key, now: new Date() });

describe('what a spend writes', () => {
  it('a ledger entry, an operation and a hold belong to a balance row: none is written for a user without one', async () => {
    const user = await makeUser(t.db);
    const now = sql`'2026-01-01T00:00:00Z'::timestamptz`;
    expect(
      await errorCodeOf(
        t.db.execute(
          sql`insert into credit_ledger (user_id, delta, balance_after, kind, operation_key, created_at) values (${user.id}, 5, 5, 'adjust', 'k1', ${now})`,
        ),
      ),
    ).toBe('23503');
    expect(
      await errorCodeOf(
        t.db.execute(
          sql`insert into credit_operations (key, user_id, kind, amount, balance_after, created_at) values ('k2', ${user.id}, 'adjust', 5, 5, ${now})`,
        ),
      ),
    ).toBe('23503');
    expect(
      await errorCodeOf(
        t.db.execute(
          sql`insert into credit_holds (key, user_id, amount, expires_at, created_at) values ('k3', ${user.id}, 5, ${now} + interval '1 hour', ${now})`,
        ),
      ),
    ).toBe('23503');
    // And a balance row cannot go while entries refer to it (ON DELETE RESTRICT: Postgres 15 reports it
    // as a foreign-key violation, PGlite's Postgres 17 as a restrict violation).
    await makeBatch(t.db, { userId: user.id, amount: 5 });
    expect(['23503', '23001']).toContain(await errorCodeOf(t.db.execute(sql`delete from credit_balances where user_id = ${user.id}`)));
    await expectInvariants(t.db);
  });

  it('the engine’s calls plan their statements once per connection (a CREATE OR REPLACE that forgets it fails here)', async () => {
    const rows = await queryRows<{ name: string; config: string[] | null }>(
      t.db,
      sql`select proname as name, proconfig as config from pg_proc
           where proname in ('credits_debit', 'credits_reserve', 'credits_capture', 'credits_release') order by proname`,
    );
    expect(rows).toEqual(
      ['credits_capture', 'credits_debit', 'credits_release', 'credits_reserve'].map((name) => ({
        name,
        config: ['plan_cache_mode=force_generic_plan'],
      })),
    );
  });

  describe.skipIf(!onRealServer)('on a Postgres server', () => {
    it('a spend updates its batch and the balance in place (HOT: no new index entries)', async () => {
      const user = await makeUser(t.db);
      await makeBatch(t.db, { userId: user.id, amount: 10 });
      const updates = async () => {
        await t.db.execute(sql`select pg_stat_force_next_flush()`);
        return queryRows<{ table: string; updated: number; hot: number }>(
          t.db,
          sql`select relname as table, n_tup_upd::int as updated, n_tup_hot_upd::int as hot from pg_stat_user_tables
               where relname in ('credit_batches', 'credit_balances') order by relname`,
        );
      };
      const before = await updates();
      for (const key of ['a', 'b', 'c', 'd', 'e']) expect(await spend(user.id, key)).toMatchObject({ ok: true });
      const after = await updates();
      expect(
        after.map((row, i) => ({ table: row.table, updated: row.updated - before[i]!.updated, hot: row.hot - before[i]!.hot })),
      ).toEqual([
        { table: 'credit_balances', updated: 5, hot: 5 },
        { table: 'credit_batches', updated: 5, hot: 5 },
      ]);
      await expectInvariants(t.db);
    });

    it('a spend takes no lock on the user’s row: it goes through while another transaction holds that row', async () => {
      const user = await makeUser(t.db);
      await makeBatch(t.db, { userId: user.id, amount: 3 });
      const other = postgres(t.url!, { max: 1, onnotice: () => {} });
      try {
        const holder = await other.reserve();
        await holder`begin`;
        await holder`select id from users where id = ${user.id} for update`;
        const outcome = await Promise.race([
          spend(user.id, 'while-locked'),
          new Promise((resolve) => setTimeout(() => resolve('still waiting after 3 s'), 3_000)),
        ]);
        await holder`rollback`;
        holder.release();
        expect(outcome).toMatchObject({ ok: true, balanceAfter: 2 });
      } finally {
        await other.end({ timeout: 5 });
      }
      await expectInvariants(t.db);
    });
  });
});
