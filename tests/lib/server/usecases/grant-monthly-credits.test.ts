import { describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeSubscription, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf, batchesOf } from '@tests/helpers/queries';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { MAX_CREDITS } from '@/config/credits';
import { cancelSubscription } from '@/lib/server/usecases/cancel-subscription';
import { creditBatches, jobRuns, users } from '@/lib/server/db/schema';

// Each scenario owns the whole users table: the job walks every user.
const t = setupTestDatabase({ emptyBeforeEach: true });

const run = (now: Date, extra: Partial<Parameters<typeof grantMonthlyCredits>[1]> = {}) =>
  grantMonthlyCredits(t.db, { trigger: 'test', now, ...extra });

const keysOf = async (userId: string) => (await batchesOf(t.db, userId)).map((b) => b.idempotencyKey);

describe('monthly subscriptions', () => {
  it('each billing period is granted once, on the anchor day, expiring when the period ends plus the grace day', async () => {
    const user = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-monthly', subscriptionId: 'sub_m', now: at('2026-01-15T08:00:00Z') });
    expect((await run(at('2026-02-15T07:59:59Z'))).results).toMatchObject({ processed: 1, successful: 0, skipped: 1 }); // still January's period
    // January's credits are still live for their grace day, so January counts as due (and already granted).
    const feb = await run(at('2026-02-15T08:00:00Z'));
    expect(feb.results).toMatchObject({ processed: 2, successful: 1, skipped: 1, failed: 0 });
    expect(feb.date).toBe('2026-02-15');
    const again = await run(at('2026-02-16T01:00:00Z'));
    expect(again.results).toMatchObject({ processed: 2, successful: 0, skipped: 2 });
    const afterGrace = await run(at('2026-02-16T08:00:00Z'));
    expect(afterGrace.results).toMatchObject({ processed: 1, successful: 0, skipped: 1 });
    expect(await keysOf(user.id)).toEqual(['subscription:sub_m:2026-01-15', 'subscription:sub_m:2026-02-15']);
    const [, second] = await batchesOf(t.db, user.id);
    expect(second!.expiresAt).toEqual(at('2026-03-16T08:00:00Z')); // pro-monthly: graceDays 1
    expect(second!.effectiveAt).toEqual(at('2026-02-15T08:00:00Z'));
    await expectInvariants(t.db);
  });

  it('an anchor on Jan 31 grants on Feb 28, Mar 31 and Apr 30', async () => {
    const user = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-monthly', subscriptionId: 'sub_31', now: at('2025-01-31T00:00:00Z') });
    for (const day of ['2025-02-28', '2025-03-31', '2025-04-30']) {
      await run(at(`${day}T01:00:00Z`));
    }
    expect(await keysOf(user.id)).toEqual([
      'subscription:sub_31:2025-01-31',
      'subscription:sub_31:2025-02-28',
      'subscription:sub_31:2025-03-31',
      'subscription:sub_31:2025-04-30',
    ]);
    await expectInvariants(t.db);
  });

  it('a missed run is caught up while the period is live, and an already-expired period is never granted', async () => {
    const user = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-monthly', subscriptionId: 'sub_gap', now: at('2026-01-10T00:00:00Z') });
    // The cron was down from Feb 9 to Mar 20: February's period (Feb 10 – Mar 10) already expired.
    const result = await run(at('2026-03-20T01:00:00Z'));
    expect(result.results).toMatchObject({ successful: 1 });
    expect(await keysOf(user.id)).toEqual(['subscription:sub_gap:2026-01-10', 'subscription:sub_gap:2026-03-10']);
    await expectInvariants(t.db);
  });

  it('a canceled subscription receives no further periods', async () => {
    const user = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-monthly', subscriptionId: 'sub_c', now: at('2026-01-10T00:00:00Z') });
    await cancelSubscription(t.db, { subscriptionId: 'sub_c', now: at('2026-01-20T00:00:00Z') });
    await run(at('2026-02-10T01:00:00Z'));
    // No more subscription credits; the user is on the free tier again.
    expect(await keysOf(user.id)).toEqual(['subscription:sub_c:2026-01-10', `free:${user.id}:2026-02`]);
    await expectInvariants(t.db);
  });
});

describe('lifetime plans and the free tier', () => {
  it('a lifetime plan grants each calendar month once, expiring at its end', async () => {
    const user = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'lifetime', subscriptionId: 'life', now: at('2026-01-20T00:00:00Z') });
    await run(at('2026-01-21T01:00:00Z'));
    await run(at('2026-02-01T01:00:00Z'));
    await run(at('2026-02-02T01:00:00Z'));
    expect(await keysOf(user.id)).toEqual(['lifetime:life:2026-01', 'lifetime:life:2026-02']);
    const [, feb] = await batchesOf(t.db, user.id);
    expect(feb!.expiresAt).toEqual(at('2026-03-01T00:00:00Z'));
    await expectInvariants(t.db);
  });

  it('users without a paid plan get the free credits once per UTC calendar month', async () => {
    const free = await makeUser(t.db);
    const paid = await makeUser(t.db);
    await makeSubscription(t.db, { userId: paid.id, planId: 'pro-yearly', now: at('2026-01-01T00:00:00Z') });
    await run(at('2026-03-01T00:00:00Z'));
    await run(at('2026-03-31T23:59:59Z'));
    await run(at('2026-04-01T00:00:00Z'));
    expect(await keysOf(free.id)).toEqual([`free:${free.id}:2026-03`, `free:${free.id}:2026-04`]);
    expect((await batchesOf(t.db, paid.id)).filter((b) => b.source === 'free')).toHaveLength(0);
    const [march] = await batchesOf(t.db, free.id);
    expect(march!.expiresAt).toEqual(at('2026-04-01T00:00:00Z'));
    await expectInvariants(t.db);
  });

  it('a user whose address is not verified gets no free credits (a scripted sign-up farms nothing) until it is', async () => {
    const unverified = await makeUser(t.db, { emailVerified: false });
    const verified = await makeUser(t.db);
    const march = await run(at('2026-03-01T00:00:00Z'));
    expect(march.results).toMatchObject({ processed: 1, successful: 1 });
    expect(await batchesOf(t.db, unverified.id)).toEqual([]);
    expect(await keysOf(verified.id)).toEqual([`free:${verified.id}:2026-03`]);

    await t.db.update(users).set({ emailVerified: true }).where(eq(users.id, unverified.id));
    await run(at('2026-03-02T00:00:00Z'));
    expect(await keysOf(unverified.id)).toEqual([`free:${unverified.id}:2026-03`]);
    await expectInvariants(t.db);
  });
});

describe('running the job', () => {
  it('reports processed, successful, skipped and failed, and records the job run', async () => {
    const users = await Promise.all([makeUser(t.db), makeUser(t.db), makeUser(t.db)]);
    await makeBatch(t.db, { userId: users[0]!.id, amount: 1, idempotencyKey: `free:${users[0]!.id}:2026-05` }); // already granted
    const result = await run(at('2026-05-02T01:00:00Z'));
    expect(result.results).toMatchObject({ processed: 3, successful: 2, skipped: 1, failed: 0, users: 3 });
    const [row] = await t.db.select().from(jobRuns).where(eq(jobRuns.id, result.jobId));
    expect(row).toMatchObject({ job: 'grant', trigger: 'test', status: 'succeeded', hasMore: false, referenceDate: '2026-05-02' });
    expect(row!.results).toMatchObject({ successful: 2 });
    const granted = await t.db.select().from(creditBatches).where(eq(creditBatches.jobRunId, result.jobId));
    expect(granted).toHaveLength(2);
    await expectInvariants(t.db);
  });

  it('stops at the limit, says hasMore, and the next call resumes where it stopped without granting twice', async () => {
    const users = await Promise.all(Array.from({ length: 7 }, () => makeUser(t.db)));
    const now = at('2026-05-02T01:00:00Z');
    const first = await run(now, { limit: 3, chunkSize: 2 });
    expect(first).toMatchObject({ hasMore: true, results: { users: 3, successful: 3 } });
    const second = await run(now, { limit: 3, chunkSize: 2 });
    expect(second).toMatchObject({ hasMore: true, results: { users: 3, successful: 3, skipped: 0 } });
    const third = await run(now, { limit: 3, chunkSize: 2 });
    expect(third).toMatchObject({ hasMore: false, results: { users: 1, successful: 1 } });
    for (const user of users) expect(await balanceOf(t.db, user.id)).toBe(50);
    // A complete run on the same day starts over and finds everything done.
    const fourth = await run(now);
    expect(fourth).toMatchObject({ hasMore: false, results: { users: 7, successful: 0, skipped: 7 } });
    await expectInvariants(t.db);
  });

  it('stops starting chunks when its time budget is spent, but always does one, so every call makes progress', async () => {
    await Promise.all(Array.from({ length: 4 }, () => makeUser(t.db)));
    const now = at('2026-05-02T01:00:00Z');
    for (let call = 1; call <= 4; call++) {
      const result = await run(now, { timeBudgetMs: 0, chunkSize: 1 });
      expect(result).toMatchObject({ hasMore: call < 4, results: { users: 1, successful: 1 } });
    }
    expect((await run(now, { timeBudgetMs: 0, chunkSize: 1 })).results).toMatchObject({ successful: 0 });
    await expectInvariants(t.db);
  });

  it('a dry run reports what would happen and writes nothing but the job run', async () => {
    const users = await Promise.all([makeUser(t.db), makeUser(t.db)]);
    const result = await run(at('2026-05-02T01:00:00Z'), { dryRun: true });
    expect(result.results).toMatchObject({ processed: 2, successful: 2 });
    for (const user of users) expect(await batchesOf(t.db, user.id)).toHaveLength(0);
    const [row] = await t.db.select().from(jobRuns).where(eq(jobRuns.id, result.jobId));
    expect(row).toMatchObject({ dryRun: true, status: 'succeeded' });
    await expectInvariants(t.db);
  });

  it('one bad user is counted as failed and the rest of the chunk still lands', async () => {
    const good = await makeUser(t.db, { id: 'a-good' });
    const bad = await makeUser(t.db, { id: 'b-bad' });
    const alsoGood = await makeUser(t.db, { id: 'c-good' });
    // A balance this close to MAX_CREDITS cannot take another grant: the database refuses it.
    await makeBatch(t.db, { userId: bad.id, amount: MAX_CREDITS - 10 });
    const result = await run(at('2026-05-02T01:00:00Z'));
    expect(result.results).toMatchObject({ processed: 3, successful: 2, failed: 1 });
    expect(await balanceOf(t.db, good.id)).toBe(50);
    expect(await balanceOf(t.db, alsoGood.id)).toBe(50);
    expect(await balanceOf(t.db, bad.id)).toBe(MAX_CREDITS - 10);
    await expectInvariants(t.db);
  });

  it('a subscription to a plan that no longer exists fails alone', async () => {
    const user = await makeUser(t.db);
    const other = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-monthly', subscriptionId: 'sub_gone', now: at('2026-01-10T00:00:00Z') });
    await t.db.execute(sql`update subscriptions set plan_id = 'retired-plan' where id = 'sub_gone'`);
    const result = await run(at('2026-02-10T01:00:00Z'));
    expect(result.results).toMatchObject({ failed: 1, successful: 1 });
    expect(await balanceOf(t.db, other.id)).toBe(50);
    await expectInvariants(t.db);
  });
});

describe('a dry run', () => {
  it('names the grants it would write (user, e-mail, key, amount), first by user, and writes none of them', async () => {
    const users = [await makeUser(t.db), await makeUser(t.db)];
    await makeSubscription(t.db, {
      userId: users[1]!.id,
      planId: 'pro-monthly',
      subscriptionId: 'sub_preview',
      now: at('2026-01-15T08:00:00Z'),
    });

    const dry = await run(at('2026-02-15T09:00:00Z'), { dryRun: true });

    const sorted = [...users].sort((a, b) => (a.id < b.id ? -1 : 1));
    const expected = sorted.map((u) =>
      u.id === users[1]!.id
        ? { userId: u.id, email: u.email, key: 'subscription:sub_preview:2026-02-15', amount: 1000 }
        : { userId: u.id, email: u.email, key: 'free:' + u.id + ':2026-02', amount: 50 },
    );
    expect(dry.preview).toEqual(expected);
    expect(dry.results).toMatchObject({ successful: 2 });
    expect(await t.db.select().from(creditBatches).where(eq(creditBatches.idempotencyKey, 'subscription:sub_preview:2026-02-15'))).toEqual(
      [],
    );
    expect((await run(at('2026-02-15T09:00:00Z'))).preview).toBeUndefined();
    await expectInvariants(t.db);
  });
});
