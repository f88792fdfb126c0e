import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { onRealServer, setupTestDatabase } from '@tests/helpers/db';
import { makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { connect } from '@/lib/server/db/client';
import { queryRows, queryRowsPrepared } from '@/lib/server/db/sql';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';
import { captureCredits } from '@/lib/server/usecases/capture-credits';
import type { Database } from '@/lib/server/db/types';

// A spend and a hold's steps are one database call each; sent unnamed, postgres.js takes two round
// trips for it (Parse and Describe first, to learn the parameters' types). Prepared, it is described
// once per connection. pg_prepared_statements lists what the server keeps for the connection asking.
if (!onRealServer) console.log('[prepared calls] skipped: PGlite has no connections or prepared statements to look at');

const preparedCalls = async (db: Database) =>
  (await queryRows<{ statement: string }>(db, sql`select statement from pg_prepared_statements order by prepare_time`)).map((row) =>
    row.statement.replace(/\s+/g, ' '),
  );

const spend = (db: Database, userId: string, key: string) =>
  consumeCredits(db, { userId, amount: 1, reason: 'export', idempotencyKey: key, now: new Date() });

describe.skipIf(!onRealServer)('the engine’s calls on a Postgres server', () => {
  // One connection, so the statements listed are the ones the spends were sent on.
  const t = setupTestDatabase({ maxConnections: 1 });

  it('a spend, a reserve and a capture are each prepared once per connection and then reused', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 10 });

    for (const key of ['s1', 's2', 's3']) expect(await spend(t.db, user.id, key)).toMatchObject({ ok: true });
    for (const key of ['h1', 'h2']) {
      const hold = await reserveCredits(t.db, { userId: user.id, amount: 1, key, now: new Date() });
      if (!hold.ok) throw new Error('reserve failed');
      expect(await captureCredits(t.db, { holdKey: hold.holdKey, userId: user.id, now: new Date() })).toMatchObject({ ok: true });
    }

    const calls = (await preparedCalls(t.db)).filter((statement) => /credits_(debit|reserve|capture)\(/.test(statement));
    expect(calls).toHaveLength(3);
    expect(calls[0]).toMatch(/^select credits_debit\(\$1::text, \$2::bigint/);
    expect(calls[1]).toMatch(/credits_reserve\(/);
    expect(calls[2]).toMatch(/credits_capture\(/);
    await expectInvariants(t.db);
  });

  it('with ?prepare=false in the URL (a pooler in transaction mode) nothing is prepared, and spends work the same', async () => {
    const handle = await connect({ url: `${t.url}?prepare=false`, maxConnections: 1 });
    try {
      const user = await makeUser(handle.db);
      await makeBatch(handle.db, { userId: user.id, amount: 2 });
      expect(await spend(handle.db, user.id, 'u1')).toMatchObject({ ok: true, balanceAfter: 1 });
      expect(await spend(handle.db, user.id, 'u1')).toMatchObject({ ok: true, replayed: true, balanceAfter: 1 });
      expect(await preparedCalls(handle.db)).toEqual([]);
      await expectInvariants(handle.db);
    } finally {
      await handle.close();
    }
  });

  it('inside a transaction, the statement runs on the transaction’s connection', async () => {
    const handle = await connect({ url: t.url!, maxConnections: 2 });
    try {
      await handle.db.transaction(async (tx) => {
        await tx.execute(sql`create temporary table only_in_this_transaction (n int) on commit drop`);
        await tx.execute(sql`insert into only_in_this_transaction values (7)`);
        const rows = await queryRowsPrepared<{ n: number }>(
          tx as unknown as Database,
          sql`select n from only_in_this_transaction where n = ${7}`,
        );
        expect(rows).toEqual([{ n: 7 }]);
      });
    } finally {
      await handle.close();
    }
  });
});
