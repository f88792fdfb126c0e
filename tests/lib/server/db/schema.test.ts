import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { setupTestDatabase } from '@tests/helpers/db';
import { makeBatch, makeUser } from '@tests/helpers/factories';
import { errorCodeOf } from '@tests/helpers/queries';
import { creditBalances, creditBatches, creditHolds, creditLedger, creditSchedules, subscriptions } from '@/lib/server/db/schema';
import { queryRows } from '@/lib/server/db/sql';
import { releaseCredits } from '@/lib/server/usecases/release-credits';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';

const t = setupTestDatabase();

describe('schema', () => {
  it('migrations apply to an empty database and create every table', async () => {
    const rows = await queryRows<{ table_name: string }>(
      t.db,
      sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
    );
    expect(rows.map((r) => r.table_name)).toEqual([
      'accounts',
      'admin_audit',
      'auth_rate_limits',
      'billing_customers',
      'billing_events',
      'billing_subscription_ends',
      'checkout_orders',
      'credit_balances',
      'credit_batches',
      'credit_expiry_notices',
      'credit_holds',
      'credit_ledger',
      'credit_operations',
      'credit_schedules',
      'credit_take_backs',
      'job_runs',
      'payment_reversals',
      'payments',
      'sessions',
      'subscriptions',
      'users',
      'verifications',
    ]);
  });

  it('runs its sessions in UTC, so month arithmetic does not depend on the server', async () => {
    const [row] = await queryRows<{ tz: string; feb: string }>(
      t.db,
      sql`select current_setting('TimeZone') as tz, to_char('2025-01-31T10:00:00Z'::timestamptz + interval '1 month', 'YYYY-MM-DD"T"HH24') as feb`,
    );
    expect(row).toEqual({ tz: 'UTC', feb: '2025-02-28T10' });
  });

  it('refuses a batch whose remaining exceeds its amount or falls below zero', async () => {
    const user = await makeUser(t.db);
    const base = { userId: user.id, source: 'admin' as const, category: 'paid' as const, effectiveAt: new Date() };
    expect(await errorCodeOf(t.db.insert(creditBatches).values({ ...base, amount: 10, remaining: 11, idempotencyKey: 'k-over' }))).toBe(
      '23514',
    );
    expect(await errorCodeOf(t.db.insert(creditBatches).values({ ...base, amount: 10, remaining: -1, idempotencyKey: 'k-neg' }))).toBe(
      '23514',
    );
    expect(await errorCodeOf(t.db.insert(creditBatches).values({ ...base, amount: 0, remaining: 0, idempotencyKey: 'k-zero' }))).toBe(
      '23514',
    );
  });

  it('refuses a second batch with the same idempotency key', async () => {
    const user = await makeUser(t.db);
    const base = { userId: user.id, source: 'admin' as const, category: 'paid' as const, effectiveAt: new Date(), amount: 5, remaining: 5 };
    await t.db.insert(creditBatches).values({ ...base, idempotencyKey: 'same-key' });
    expect(await errorCodeOf(t.db.insert(creditBatches).values({ ...base, idempotencyKey: 'same-key' }))).toBe('23505');
  });

  it('refuses a negative balance', async () => {
    const user = await makeUser(t.db);
    expect(await errorCodeOf(t.db.insert(creditBalances).values({ userId: user.id, balance: -1 }))).toBe('23514');
  });

  it('refuses an expired batch that still holds credits', async () => {
    const user = await makeUser(t.db);
    const base = { userId: user.id, source: 'admin' as const, category: 'paid' as const, effectiveAt: new Date('2026-01-01Z') };
    expect(
      await errorCodeOf(
        t.db.insert(creditBatches).values({
          ...base,
          amount: 5,
          remaining: 5,
          idempotencyKey: 'k-exp',
          expiresAt: new Date('2026-02-01Z'),
          expiredAt: new Date('2026-02-01Z'),
        }),
      ),
    ).toBe('23514');
  });

  it('refuses a second expiry entry for the same batch', async () => {
    const user = await makeUser(t.db);
    const batch = await makeBatch(t.db, { userId: user.id, amount: 5 });
    const entry = {
      userId: user.id,
      delta: -1,
      balanceAfter: 0,
      kind: 'expire' as const,
      batchId: batch.id,
      operationKey: `expire:${batch.id}`,
    };
    await t.db.insert(creditLedger).values(entry);
    expect(await errorCodeOf(t.db.insert(creditLedger).values(entry))).toBe('23505');
  });

  it('refuses a schedule whose granted and remaining credits do not add up to its total', async () => {
    const user = await makeUser(t.db);
    await t.db
      .insert(subscriptions)
      .values({ id: 'sub-x', userId: user.id, planId: 'pro-yearly', billing: 'yearly', anchorAt: new Date() });
    const schedule = {
      userId: user.id,
      subscriptionId: 'sub-x',
      planId: 'pro-yearly',
      category: 'paid' as const,
      creditsPerInstallment: 10,
      installmentsTotal: 12,
      creditsTotal: 120,
      intervalMonths: 1,
      anchorAt: new Date(),
    };
    expect(await errorCodeOf(t.db.insert(creditSchedules).values({ ...schedule, creditsGranted: 10, creditsRemaining: 100 }))).toBe(
      '23514',
    );
    expect(await errorCodeOf(t.db.insert(creditSchedules).values({ ...schedule, creditsRemaining: 120, installmentsDone: 13 }))).toBe(
      '23514',
    );
  });

  describe('the ledger is append-only, enforced by the database', () => {
    async function written() {
      const user = await makeUser(t.db);
      const batch = await makeBatch(t.db, { userId: user.id, amount: 5 });
      return { user, batch };
    }
    const refusal = async (work: Promise<unknown>) => {
      try {
        await work;
      } catch (error) {
        return String((error as { cause?: Error }).cause?.message ?? (error as Error).message);
      }
      return 'accepted';
    };

    it.each([
      ['an update of a ledger entry', (id: number) => sql`update credit_ledger set delta = 6 where batch_id = ${id}`],
      ['a deletion of a ledger entry', (id: number) => sql`delete from credit_ledger where batch_id = ${id}`],
      ['a deletion of a batch', (id: number) => sql`delete from credit_batches where id = ${id}`],
      ["an update of a batch's amount", (id: number) => sql`update credit_batches set amount = 6, remaining = 6 where id = ${id}`],
      ["an update of a batch's owner", (id: number) => sql`update credit_batches set user_id = user_id || 'x' where id = ${id}`],
      [
        "an update of a batch's expiry",
        (id: number) => sql`update credit_batches set expires_at = now() + interval '1 day' where id = ${id}`,
      ],
      ["an update of a batch's key", (id: number) => sql`update credit_batches set idempotency_key = 'other' where id = ${id}`],
      [
        'an update of an operation',
        (id: number) =>
          sql`update credit_operations set amount = 6 where key = (select idempotency_key from credit_batches where id = ${id})`,
      ],
      [
        'a deletion of an operation',
        (id: number) => sql`delete from credit_operations where key = (select idempotency_key from credit_batches where id = ${id})`,
      ],
    ])('refuses %s', async (_name, statement) => {
      const { batch } = await written();
      expect(await refusal(t.db.execute(statement(batch.id)))).toMatch(/append-only/);
      const [row] = await t.db
        .select()
        .from(creditBatches)
        .where(sql`id = ${batch.id}`);
      expect(row).toMatchObject({ amount: 5, remaining: 5, idempotencyKey: batch.idempotencyKey });
    });

    it.each([
      ['a change of a settled hold', (key: string) => sql`update credit_holds set reason = 'edited' where key = ${key}`, /settled once/],
      ['a deletion of a hold', (key: string) => sql`delete from credit_holds where key = ${key}`, /append-only/],
    ])('refuses %s', async (_name, statement, message) => {
      const { user } = await written();
      const key = `hold-${user.id}`;
      await reserveCredits(t.db, { userId: user.id, amount: 2, key });
      await releaseCredits(t.db, { holdKey: key });
      expect(await refusal(t.db.execute(statement(key)))).toMatch(message);
      expect(
        await t.db
          .select()
          .from(creditHolds)
          .where(sql`key = ${key}`),
      ).toMatchObject([{ status: 'released', reason: null }]);
    });

    it('refuses a change of what a held hold reserved', async () => {
      const { user } = await written();
      const key = `hold-${user.id}`;
      await reserveCredits(t.db, { userId: user.id, amount: 2, key });
      expect(await refusal(t.db.execute(sql`update credit_holds set amount = 1 where key = ${key}`))).toMatch(/settled once/);
    });

    it('lets a consumption or the expiry change only what they own: remaining, expired_at, expired_amount', async () => {
      const { batch } = await written();
      await t.db.execute(sql`update credit_batches set remaining = 0, expired_at = now(), expired_amount = 5 where id = ${batch.id}`);
      const [row] = await t.db
        .select()
        .from(creditBatches)
        .where(sql`id = ${batch.id}`);
      expect(row).toMatchObject({ remaining: 0, expiredAmount: 5 });
    });
  });
});
