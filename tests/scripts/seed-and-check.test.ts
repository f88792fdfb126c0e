import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { users } from '@/lib/server/db/schema';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { processDueSchedules } from '@/lib/server/usecases/process-due-schedules';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf } from '@tests/helpers/queries';
import { corrupt } from '@tests/helpers/corrupt';
import { queryRows } from '@/lib/server/db/sql';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { createScriptDatabase, runCli, runScript, type ScriptDatabase } from './helpers';

let t: ScriptDatabase;
beforeAll(async () => {
  t = await createScriptDatabase();
});
afterAll(async () => {
  await t?.drop();
});

it('the demo seed gives every job work, and the invariants hold after all of them', async () => {
  const seeded = await runScript('db-seed', [], t.env);
  expect(seeded.code, seeded.stderr).toBe(0);
  expect(seeded.stdout).toMatch(/Seeded 13 demo users/);

  const overdue = await runCli(['inspect', 'overdue'], t.env);
  expect(overdue.code, overdue.stderr).toBe(0);
  expect(overdue.stdout).toMatch(/Overdue schedules: 1 /);
  expect(overdue.stdout).toMatch(/yearly-overdue@example\.com\s+pro-yearly\s+1\/12\s+\S+\s+\d+\s+3/);

  await t.use(async (db) => {
    const exhausted = await db.select().from(users).where(eq(users.email, 'exhausted@example.com'));
    expect(await balanceOf(db, exhausted[0]!.id)).toBe(0);
    await expectInvariants(db);

    const now = new Date();
    const grant = await grantMonthlyCredits(db, { trigger: 'test', now });
    const schedules = await processDueSchedules(db, { trigger: 'test', now });
    const expire = await expireCredits(db, { trigger: 'test', now });

    // Monthly due today, lifetime's new month and free months at least; the three overdue installments; expired bonuses and months.
    expect(grant.results.successful).toBeGreaterThanOrEqual(3);
    expect(grant.results.failed).toBe(0);
    expect(schedules).toMatchObject({ processed: 3, schedulesTouched: 1, failed: 0, hasMore: false });
    expect(expire.results.processedBatches).toBeGreaterThanOrEqual(3);
    expect(expire.results.totalExpiredAmount).toBeGreaterThan(0);
    await expectInvariants(db);
  });

  const clean = await runCli(['check'], t.env);
  expect(clean.code, clean.stdout + clean.stderr).toBe(0);
  expect(clean.stdout).toMatch(/No invariant violations \(all users/);
});

it('refuses to seed a database that has users, unless --force', async () => {
  const again = await runScript('db-seed', [], t.env);
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/already has 13 user\(s\); pass --force/);
});

it('the invariant check names a corrupted row and exits 1', async () => {
  const victim = await t.use(async (db) => {
    const [user] = await db.select().from(users).where(eq(users.email, 'packs@example.com'));
    await db.execute(sql`update credit_balances set balance = balance + 7 where user_id = ${user!.id}`);
    return user!;
  });

  const result = await runCli(['check'], t.env);

  expect(result.code).toBe(1);
  expect(result.stdout).toContain(`✖ balance_matches_ledger: ${victim.id}: balance`);
  expect(result.stdout).toMatch(/balance_matches_batches/);
  expect(result.stdout).toMatch(/3 violation\(s\) over all users/);

  const user = await runCli(['inspect', 'user', 'packs@example.com', '--json'], t.env);
  expect(user.code, user.stderr).toBe(0);
  const view = JSON.parse(user.stdout) as { user: { id: string }; batches: { source: string }[]; ledger: unknown[] };
  expect(view.user.id).toBe(victim.id);
  expect(view.batches.map((b) => b.source).sort()).toEqual(['free', 'free', 'purchase', 'purchase', 'signup']);
  expect(view.ledger.length).toBeGreaterThan(0);
});

it('the invariant check reports corruptions that leave every total unchanged, each with its user and rule', async () => {
  const victims = await t.use(async (db) => {
    const emails = ['packs@example.com', 'lifetime@example.com', 'exhausted@example.com', 'adjusted@example.com'];
    const found = await Promise.all(emails.map(async (email) => (await db.select().from(users).where(eq(users.email, email)))[0]!));
    const [moved, chained, operation, restored] = found.map((u) => u.id) as [string, string, string, string];
    // Credits moved from one batch to another of the same user: one credit spent from the batch burned
    // first, then given back to it and taken from another live batch.
    const spent = await consumeCredits(db, { userId: moved, amount: 1, reason: 'test', idempotencyKey: `move-${moved}` });
    expect(spent.ok).toBe(true);
    const [from] = await queryRows<{ id: number }>(
      db,
      sql`select batch_id::float8 as id from credit_ledger where operation_key = ${`move-${moved}`}`,
    );
    await corrupt(db, sql`update credit_batches set remaining = remaining + 1 where id = ${from!.id}`);
    await corrupt(
      db,
      sql`update credit_batches set remaining = remaining - 1
                          where id = (select max(id) from credit_batches where user_id = ${moved} and id <> ${from!.id} and remaining > 0 and expired_at is null)`,
    );
    // A ledger entry's balance_after altered.
    await corrupt(
      db,
      sql`update credit_ledger set balance_after = balance_after + 1 where id = (select min(id) from credit_ledger where user_id = ${chained})`,
    );
    // A consumption whose recorded amount no longer matches its entries.
    await corrupt(
      db,
      sql`update credit_operations set amount = amount + 1 where key = (select min(key) from credit_operations where user_id = ${operation} and kind = 'consume')`,
    );
    // A balance row lost in a partial restore.
    await corrupt(db, sql`delete from credit_balances where user_id = ${restored}`);
    return { moved, chained, operation, restored };
  });

  const result = await runCli(['check'], t.env);

  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(new RegExp(`✖ batch_matches_entries: batch \\d+ \\(user ${victims.moved}\\)`));
  expect(result.stdout).toMatch(new RegExp(`✖ ledger_chain: entry \\d+ \\(user ${victims.chained}\\)`));
  expect(
    result.stdout
      .split('\n')
      .filter((line) => line.startsWith('✖ operation_matches_entries:'))
      .join('\n'),
  ).toContain(victims.operation);
  expect(result.stdout).toContain(`✖ balance_row_missing: ${victims.restored}: has batches or ledger entries but no balance row`);
});
