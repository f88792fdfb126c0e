import { afterEach, describe, expect, it } from 'vitest';
import { asc, eq } from 'drizzle-orm';
import { creditBatches } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { backfillInstant, grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { cancelSubscription } from '@/lib/server/usecases/cancel-subscription';
import { createTestDatabase, type TestDatabase } from '@tests/helpers/db';
import { at, makeSubscription, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';

// A backfill reproduces a past day: the same grants as that day's run would have made. Each scenario
// builds the same history twice: in full (what the database holds when the backfill runs, weeks
// later), and cut at the day (what the database held when that day's run should have happened).
const day = '2026-10-15';
const endOfDay = at('2026-10-15T23:59:59.999Z');
const today = at('2026-11-22T10:00:00Z');

type Event = { at: Date; apply: (db: Database) => Promise<unknown> };

const history: Event[] = [
  { at: at('2026-09-01T09:00:00Z'), apply: (db) => makeUser(db, { id: 'free-since-september', now: at('2026-09-01T09:00:00Z') }) },
  { at: at('2026-09-01T09:00:00Z'), apply: (db) => makeUser(db, { id: 'monthly', now: at('2026-09-01T09:00:00Z') }) },
  {
    at: at('2026-09-10T12:00:00Z'),
    apply: (db) =>
      makeSubscription(db, { userId: 'monthly', planId: 'pro-monthly', subscriptionId: 'sub-monthly', now: at('2026-09-10T12:00:00Z') }),
  },
  { at: at('2026-09-01T09:00:00Z'), apply: (db) => makeUser(db, { id: 'lifetime', now: at('2026-09-01T09:00:00Z') }) },
  {
    at: at('2026-09-05T00:00:00Z'),
    apply: (db) =>
      makeSubscription(db, { userId: 'lifetime', planId: 'lifetime', subscriptionId: 'sub-lifetime', now: at('2026-09-05T00:00:00Z') }),
  },
  { at: at('2026-09-01T09:00:00Z'), apply: (db) => makeUser(db, { id: 'canceled-early', now: at('2026-09-01T09:00:00Z') }) },
  {
    at: at('2026-09-03T00:00:00Z'),
    apply: (db) =>
      makeSubscription(db, {
        userId: 'canceled-early',
        planId: 'pro-monthly',
        subscriptionId: 'sub-early',
        now: at('2026-09-03T00:00:00Z'),
      }),
  },
  {
    at: at('2026-10-02T00:00:00Z'),
    apply: (db) => cancelSubscription(db, { subscriptionId: 'sub-early', now: at('2026-10-02T00:00:00Z') }),
  },
  // After the day: a plan canceled later, a plan that started later that month, a user who signed up later.
  {
    at: at('2026-11-05T00:00:00Z'),
    apply: (db) => cancelSubscription(db, { subscriptionId: 'sub-monthly', now: at('2026-11-05T00:00:00Z') }),
  },
  { at: at('2026-09-01T09:00:00Z'), apply: (db) => makeUser(db, { id: 'subscribed-later', now: at('2026-09-01T09:00:00Z') }) },
  {
    at: at('2026-10-20T00:00:00Z'),
    apply: (db) =>
      makeSubscription(db, {
        userId: 'subscribed-later',
        planId: 'pro-monthly',
        subscriptionId: 'sub-later',
        now: at('2026-10-20T00:00:00Z'),
      }),
  },
  { at: at('2026-10-25T00:00:00Z'), apply: (db) => makeUser(db, { id: 'signed-up-later', now: at('2026-10-25T00:00:00Z') }) },
];

async function build(db: Database, until: Date | null) {
  for (const event of history) if (until === null || event.at <= until) await event.apply(db);
}

const grantsOf = (db: Database, jobRunId: string) =>
  db
    .select({
      userId: creditBatches.userId,
      key: creditBatches.idempotencyKey,
      amount: creditBatches.amount,
      effectiveAt: creditBatches.effectiveAt,
      expiresAt: creditBatches.expiresAt,
    })
    .from(creditBatches)
    .where(eq(creditBatches.jobRunId, jobRunId))
    .orderBy(asc(creditBatches.userId), asc(creditBatches.idempotencyKey));

const open: TestDatabase[] = [];
const database = async () => {
  const db = await createTestDatabase();
  open.push(db);
  return db;
};
afterEach(async () => {
  for (const db of open.splice(0)) await db.drop();
});

describe('a grant backfill reproduces its day', () => {
  it('grants exactly what a run that day would have granted: users and plans as they stood then', async () => {
    const now = await database();
    const then = await database();
    await build(now.db, null);
    await build(then.db, endOfDay);

    const instant = await backfillInstant(now.db, { date: day, now: today });
    expect(instant).toEqual({ ok: true, date: day, asOf: endOfDay });
    const backfill = await grantMonthlyCredits(now.db, { trigger: 'test', now: endOfDay, backfill: true });
    const thatDay = await grantMonthlyCredits(then.db, { trigger: 'test', now: endOfDay });

    const granted = await grantsOf(now.db, backfill.jobId);
    expect(granted).toEqual(await grantsOf(then.db, thatDay.jobId));
    expect(granted.map((g) => g.key)).toEqual([
      'free:free-since-september:2026-10',
      'lifetime:sub-lifetime:2026-10',
      // Canceled on Nov 5: on the 15th the plan stood, and its October period is granted.
      'subscription:sub-monthly:2026-10-10',
      // Subscribed on the 20th: on the 15th the user was on the free plan.
      'free:subscribed-later:2026-10',
    ]);
    expect(backfill.date).toBe(day);
    await expectInvariants(now.db);
    await expectInvariants(then.db);
  });

  it('without the backfill rule, the same run would have refused free credits for a plan that did not exist yet and granted to users who did not', async () => {
    // The contrast that makes the rule necessary (the daily run never meets it: nobody is created after its own clock).
    const now = await database();
    await build(now.db, null);
    const plain = await grantMonthlyCredits(now.db, { trigger: 'test', now: endOfDay });
    const keys = (await grantsOf(now.db, plain.jobId)).map((g) => g.key);
    expect(keys).toContain('free:signed-up-later:2026-10');
    expect(keys).not.toContain('free:subscribed-later:2026-10');
  });
});

describe('the day a backfill may reproduce', () => {
  it.each([
    ['2026-02-30', 'invalid_date'],
    ['15.10.2026', 'invalid_date'],
    ['2026-11-23', 'future_date'],
    ['2026-08-31', 'before_first_user'],
    ['1999-01-01', 'before_first_user'],
  ])('%s is refused (%s)', async (date, reason) => {
    const db = await database();
    await makeUser(db.db, { now: at('2026-09-01T09:00:00Z') });
    const result = await backfillInstant(db.db, { date, now: today });
    expect(result).toMatchObject({ ok: false, reason });
    expect(!result.ok && result.message).toContain(date);
  });

  it('the first user’s own day is allowed, and today runs as of now', async () => {
    const db = await database();
    await makeUser(db.db, { now: at('2026-09-01T09:00:00Z') });
    expect(await backfillInstant(db.db, { date: '2026-09-01', now: today })).toMatchObject({
      ok: true,
      asOf: at('2026-09-01T23:59:59.999Z'),
    });
    expect(await backfillInstant(db.db, { date: '2026-11-22', now: today })).toEqual({ ok: true, date: '2026-11-22', asOf: today });
  });
});
