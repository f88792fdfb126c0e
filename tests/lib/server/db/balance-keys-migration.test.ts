import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { onRealServer, testServerUrl } from '@tests/helpers/db';
import { migrationsUpTo } from '@tests/helpers/migrations';
import { makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { connect, type DatabaseHandle } from '@/lib/server/db/client';
import { migrationsFolder } from '@/lib/server/db/migrate';
import { pgErrorCode } from '@/lib/server/db/sql';

// Migration 0014 changes the tables every spend writes. Applied at start-up while the running app
// spends, it must make spends wait, never deadlock with them: it takes its locks in the order a spend
// does (the balances first). Each round below applies it in a transaction and rolls it back, while
// workers call credits_debit directly (no retries, so a deadlock shows as an error).
if (!onRealServer) console.log('[migration 0014 under load] skipped: needs TEST_DATABASE_URL (concurrent transactions)');

const statements = readFileSync(path.join(migrationsFolder, '0014_balance_keys_and_in_place_batch_updates.sql'), 'utf8')
  .split('--> statement-breakpoint')
  .map((statement) => statement.trim())
  .filter(Boolean);

describe.skipIf(!onRealServer)('migration 0014 applied while the app spends', () => {
  const name = `credits_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  let url: string;
  let handle: DatabaseHandle;
  let before: string;
  const users: string[] = [];

  beforeAll(async () => {
    const admin = postgres(testServerUrl!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`);
    await admin.end();
    const u = new URL(testServerUrl!);
    u.pathname = `/${name}`;
    url = u.toString();
    handle = await connect({ url, maxConnections: 4 });
    before = migrationsUpTo('0013_expiry_notices_and_receipts');
    await migrate(drizzle(postgres(url, { max: 1, onnotice: () => {} })), { migrationsFolder: before });
    for (let i = 0; i < 40; i++) {
      const user = await makeUser(handle.db);
      await makeBatch(handle.db, { userId: user.id, amount: 1_000_000 });
      users.push(user.id);
    }
  });
  afterAll(async () => {
    rmSync(before, { recursive: true, force: true });
    await handle?.close();
    const admin = postgres(testServerUrl!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  });

  it('spends wait for it and none deadlocks; then it applies, and the credits add up', async () => {
    const spenders = postgres(url, { max: 6, onnotice: () => {} });
    const migrator = postgres(url, { max: 1, onnotice: () => {} });
    const failures: string[] = [];
    let spends = 0;
    let running = true;
    const worker = async (w: number) => {
      for (let i = 0; running; i++) {
        const userId = users[(w * 7 + i) % users.length]!;
        try {
          await spenders`select credits_debit(${userId}::text, 1::bigint, ${`w${w}:${i}`}::text, 'consume'::text, null::jsonb, now())`;
          spends++;
        } catch (error) {
          failures.push(`spend: ${pgErrorCode(error) ?? String(error)}`);
        }
      }
    };
    const workers = Array.from({ length: 6 }, (_, w) => worker(w));
    try {
      for (let round = 0; round < 15; round++) {
        try {
          await migrator.begin(async (tx) => {
            for (const statement of statements) await tx.unsafe(statement);
            throw new Error('rollback');
          });
        } catch (error) {
          if ((error as Error).message !== 'rollback') failures.push(`migration: ${pgErrorCode(error) ?? String(error)}`);
        }
      }
    } finally {
      running = false;
      await Promise.all(workers);
    }
    expect(failures).toEqual([]);
    expect(spends).toBeGreaterThan(0);

    await migrate(drizzle(migrator), { migrationsFolder });
    await Promise.all([spenders.end(), migrator.end()]);
    await expectInvariants(handle.db);
  }, 120_000);
});
