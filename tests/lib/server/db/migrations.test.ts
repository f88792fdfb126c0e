import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { randomBytes } from 'node:crypto';
import { connect, type DatabaseHandle } from '@/lib/server/db/client';
import { migrationsFolder } from '@/lib/server/db/migrate';
import { queryRows } from '@/lib/server/db/sql';
import { testServerUrl } from '@tests/helpers/db';
import { migrationsUpTo } from '@tests/helpers/migrations';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf } from '@tests/helpers/queries';
import { grantCredits } from '@/lib/server/usecases/grant-credits';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';

// The migration to 64-bit amounts, plan terms and one key namespace, applied to a database that
// holds data written by the schema before it (migrations 0000 and 0001), as an existing install would.

let handle: DatabaseHandle;
let migrateTo: (folder: string) => Promise<void>;
let drop = async () => {};
const folders: string[] = [];

beforeAll(async () => {
  const server = testServerUrl;
  if (!server) {
    handle = await connect({ dataDir: null });
    migrateTo = (folder) => migratePglite(handle.db as unknown as PgliteDatabase, { migrationsFolder: folder });
    drop = () => handle.close();
    return;
  }
  const name = `credits_migration_${randomBytes(4).toString('hex')}`;
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  handle = await connect({ url: url.toString(), maxConnections: 4 });
  migrateTo = (folder) => migratePostgres(handle.db as unknown as PostgresJsDatabase, { migrationsFolder: folder });
  drop = async () => {
    await handle.close();
    const cleanup = postgres(server, { max: 1, onnotice: () => {} });
    await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
    await cleanup.end();
  };
});
afterAll(async () => {
  await drop();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

describe('migrating an existing install to 64-bit amounts and one key namespace', () => {
  it('keeps every row, claims every grant key, gives yearly plans their term, and then takes amounts past 32 bits', async () => {
    const old = migrationsUpTo('0001_job_run_links_without_foreign_keys');
    folders.push(old);
    await migrateTo(old);
    const db = handle.db;
    // What the previous schema's code wrote: a user with two grants, a spend across them, and a yearly plan.
    for (const statement of [
      sql`insert into users (id, name, email) values ('old-user', 'Old', 'old@example.test')`,
      sql`insert into credit_balances (user_id, balance, total_granted, total_consumed) values ('old-user', 1183, 1333, 150)`,
      sql`insert into subscriptions (id, user_id, plan_id, billing, anchor_at) values ('old-sub', 'old-user', 'pro-yearly', 'yearly', '2026-01-15T00:00:00Z')`,
      sql`insert into subscriptions (id, user_id, plan_id, billing, anchor_at) values ('old-long', 'old-user', 'old-24-months', 'yearly', '2026-01-15T00:00:00Z')`,
      sql`insert into credit_schedules (id, user_id, subscription_id, plan_id, category, credits_per_installment, installments_total, installments_done,
                                    credits_total, credits_granted, credits_remaining, interval_months, validity_days, anchor_at, next_due_at, status)
        values ('00000000-0000-4000-8000-000000000002', 'old-user', 'old-long', 'old-24-months', 'paid', 100, 24, 0, 2400, 0, 2400, 1, null,
                '2026-01-15T00:00:00Z', '2026-01-15T00:00:00Z', 'active')`,
      sql`insert into credit_schedules (id, user_id, subscription_id, plan_id, category, credits_per_installment, installments_total, installments_done,
                                      credits_total, credits_granted, credits_remaining, interval_months, validity_days, anchor_at, next_due_at)
          values ('00000000-0000-4000-8000-000000000001', 'old-user', 'old-sub', 'pro-yearly', 'paid', 833, 12, 1, 10000, 833, 9167, 1, 45,
                  '2026-01-15T00:00:00Z', '2026-02-15T00:00:00Z')`,
      sql`insert into credit_batches (user_id, amount, remaining, source, category, effective_at, expires_at, idempotency_key, subscription_id, schedule_id, installment)
          values ('old-user', 833, 683, 'schedule', 'paid', '2026-01-15T00:00:00Z', '2026-03-01T00:00:00Z',
                  'schedule:00000000-0000-4000-8000-000000000001:1', 'old-sub', '00000000-0000-4000-8000-000000000001', 1),
                 ('old-user', 500, 500, 'purchase', 'paid', '2026-01-16T00:00:00Z', null, 'purchase:pi_old', null, null, null)`,
      sql`insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key)
          select 'old-user', amount, case when source = 'schedule' then 833 else 1333 end, 'grant', id, idempotency_key from credit_batches order by id`,
      sql`insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key)
          select 'old-user', -150, 1183, 'consume', id, 'spend-old' from credit_batches where source = 'schedule'`,
      sql`insert into credit_operations (key, user_id, kind, amount, balance_after) values ('spend-old', 'old-user', 'consume', 150, 1183)`,
    ]) {
      await db.execute(statement);
    }
    const before = await counts();

    await migrateTo(migrationsFolder);

    expect(await counts()).toEqual({ ...before, operations: before.operations + 2 });
    const types = await queryRows<{ column_name: string; data_type: string }>(
      db,
      sql`select table_name || '.' || column_name as column_name, data_type from information_schema.columns
           where table_schema = 'public' and table_name like 'credit%'
             and column_name in ('balance', 'amount', 'remaining', 'delta', 'balance_after', 'credits_remaining')
           order by 1`,
    );
    expect(types.every((t) => t.data_type === 'bigint')).toBe(true);
    expect(types).toHaveLength(10);
    const terms = await queryRows<{ id: string; ends_at: string }>(
      db,
      sql`select id, to_char(ends_at, 'YYYY-MM-DD') as ends_at from subscriptions order by id`,
    );
    // Twelve months; an existing schedule that runs longer (the config allowed it) keeps every installment paid for.
    expect(terms).toEqual([
      { id: 'old-long', ends_at: '2028-01-15' },
      { id: 'old-sub', ends_at: '2027-01-15' },
    ]);
    await expectInvariants(db);

    // The migrated install works as a new one: past 32 bits, and the spend's key stays the spend's.
    expect(
      await grantCredits(db, {
        userId: 'old-user',
        amount: 3_000_000_000,
        source: 'admin',
        category: 'paid',
        expiresAt: null,
        idempotencyKey: 'big',
      }),
    ).toMatchObject({ ok: true });
    expect(
      await grantCredits(db, {
        userId: 'old-user',
        amount: 150,
        source: 'admin',
        category: 'paid',
        expiresAt: null,
        idempotencyKey: 'spend-old',
      }),
    ).toMatchObject({
      ok: false,
      reason: 'idempotency_conflict',
    });
    expect(await consumeCredits(db, { userId: 'old-user', amount: 500, reason: 'x', idempotencyKey: 'purchase:pi_old' })).toMatchObject({
      ok: false,
    });
    expect(await balanceOf(db, 'old-user')).toBe(3_000_001_183);
    await expectInvariants(db);
  });
});

async function counts() {
  const [row] = await queryRows<{ users: number; batches: number; ledger: number; operations: number; schedules: number; balance: number }>(
    handle.db,
    sql`select (select count(*) from users)::int as users, (select count(*) from credit_batches)::int as batches,
               (select count(*) from credit_ledger)::int as ledger, (select count(*) from credit_operations)::int as operations,
               (select count(*) from credit_schedules)::int as schedules, (select sum(balance) from credit_balances)::int as balance`,
  );
  return row!;
}
