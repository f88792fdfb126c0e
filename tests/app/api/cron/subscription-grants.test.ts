import { beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { creditBatches, creditSchedules } from '@/lib/server/db/schema';
import { GET, POST } from '@/app/api/cron/subscription-grants/route';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeSubscription, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { countRows, cronRequest, jobRun, readJson, setCronEnv } from '@tests/helpers/cron';
import { setupClockAt } from '@tests/helpers/clock';

// The route reads the clock: it starts at a fixed instant, on a day a month-end bug would show (May 31).
const now = at('2026-05-31T12:00:00Z');
// Bought three months and four days ago: installments 2, 3 and 4 are due (Mar 27, Apr 27, May 27; the
// first was granted at purchase, the fifth is due on Jun 27).
const purchased = at('2026-02-27T12:00:00Z');

setupClockAt(now);
const t = setupTestDatabase({ routes: true });
beforeEach(() => setCronEnv());

const call = (query = '', method: 'GET' | 'POST' = 'GET') =>
  (method === 'GET' ? GET : POST)(
    cronRequest(`/api/cron/subscription-grants${query}`, {
      method,
      headers: { authorization: `Bearer ${process.env.CRON_SECRET}`, 'user-agent': 'vercel-cron/1.0' },
    }),
  );

describe('GET|POST /api/cron/subscription-grants', () => {
  const subs: { userId: string; subscriptionId: string; scheduleId: string }[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const user = await makeUser(t.db);
      const started = await makeSubscription(t.db, { userId: user.id, planId: 'pro-yearly', now: purchased });
      subs.push({ userId: user.id, subscriptionId: started.subscription.id, scheduleId: started.schedule!.id });
    }
  });

  test('a dry run reports the due installments and writes nothing but its job run', async () => {
    const batches = await countRows(t.db, 'credit_batches');
    const body = await readJson(await call('?dryRun=1'));
    expect(body).toMatchObject({ processed: 9, schedulesTouched: 3, failed: 0, hasMore: false });
    expect(await countRows(t.db, 'credit_batches')).toBe(batches);
    expect(await jobRun(t.db, body.jobId)).toMatchObject({ job: 'subscription-grants', dryRun: true, trigger: 'vercel-cron' });
  });

  test('limit and catchUp bound a call; later calls continue until nothing is due, granting each installment once', async () => {
    const first = await readJson(await call('?limit=2&catchUp=1'));
    expect(Object.keys(first)).toEqual(['processed', 'schedulesTouched', 'failed', 'jobId', 'duration', 'hasMore', 'grants']);
    expect(first).toMatchObject({ processed: 2, schedulesTouched: 2, failed: 0, hasMore: true });
    expect(first.grants[0]).toEqual({
      scheduleId: expect.any(String),
      subscriptionId: expect.any(String),
      userId: expect.any(String),
      totalGranted: 833,
      grantsProcessed: 1,
      remainingGrants: 10,
    });
    let total = first.processed;
    for (let call_ = 0; call_ < 10; call_++) {
      const next = await readJson(await call('', call_ % 2 ? 'GET' : 'POST'));
      total += next.processed;
      if (!next.hasMore) break;
    }
    expect(total).toBe(9);
    const again = await readJson(await call());
    expect(again).toMatchObject({ processed: 0, schedulesTouched: 0, hasMore: false, grants: [] });
    for (const sub of subs) {
      const installments = await t.db
        .select()
        .from(creditBatches)
        .where(and(eq(creditBatches.userId, sub.userId), eq(creditBatches.source, 'schedule')));
      expect(installments.map((b) => b.installment).sort()).toEqual([1, 2, 3, 4]);
      const [schedule] = await t.db.select().from(creditSchedules).where(eq(creditSchedules.id, sub.scheduleId));
      expect(schedule).toMatchObject({ installmentsDone: 4, creditsGranted: 4 * 833 });
    }
    await expectInvariants(t.db);
  });

  test('without a limit only the time budget bounds a call; catchUp defaults to 12; both are clamped to 1…500 and 1…36', async () => {
    const defaults = await readJson(await call());
    expect((await jobRun(t.db, defaults.jobId))?.params).toMatchObject({ limit: null, catchUp: 12 });
    const high = await readJson(await call('?limit=501&catchUp=1000'));
    expect((await jobRun(t.db, high.jobId))?.params).toMatchObject({ limit: 500, catchUp: 36 });
    const low = await readJson(await call('?limit=0&catchUp=-3'));
    expect((await jobRun(t.db, low.jobId))?.params).toMatchObject({ limit: 1, catchUp: 1 });
  });

  test.each([['catchUp=all'], ['limit=2.5'], ['catchUp=1&catchUp=2'], ['catchup=2'], ['dryRun=on']])(
    '?%s is refused with 400',
    async (query) => {
      const response = await call(`?${query}`);
      expect(response.status).toBe(400);
      expect(await readJson(response)).toMatchObject({ error: 'Invalid query', details: expect.any(Array) });
    },
  );
});
