import { beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { GET, POST } from '@/app/api/jobs/credits/expire/route';
import { setupTestDatabase } from '@tests/helpers/db';
import { makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf } from '@tests/helpers/queries';
import { countRows, cronRequest, jobRun, readJson, setCronEnv } from '@tests/helpers/cron';
import { setupClockAt } from '@tests/helpers/clock';
import { holdOf } from '@tests/helpers/holds';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';

// The route reads the clock: it starts at a fixed instant, so every date below is one known instant.
const now = new Date('2026-02-01T04:00:00Z');

setupClockAt(now);
const t = setupTestDatabase({ routes: true });
beforeEach(() => setCronEnv());

const DAY = 86_400_000;
const ago = (days: number) => new Date(now.getTime() - days * DAY);
const call = (query = '', method: 'GET' | 'POST' = 'GET') =>
  (method === 'GET' ? GET : POST)(cronRequest(`/api/jobs/credits/expire${query}`, { method }));

describe('GET|POST /api/jobs/credits/expire', () => {
  let a: string;
  let b: string;

  beforeAll(async () => {
    a = (await makeUser(t.db)).id;
    b = (await makeUser(t.db)).id;
    await makeBatch(t.db, { userId: a, amount: 100, effectiveAt: ago(10), expiresAt: ago(1), now: ago(10) });
    await makeBatch(t.db, { userId: a, amount: 50, expiresAt: null, now });
    await makeBatch(t.db, { userId: b, amount: 30, effectiveAt: ago(10), expiresAt: ago(2), now: ago(10) });
    await makeBatch(t.db, { userId: b, amount: 20, effectiveAt: ago(1), expiresAt: new Date(now.getTime() + DAY), now: ago(1) });
  });

  test('a dry run reports what would expire and writes nothing but its job run', async () => {
    const batches = await countRows(t.db, 'credit_batches');
    const ledger = await countRows(t.db, 'credit_ledger');
    const body = await readJson(await call('?dryRun=true'));
    expect(body.results).toEqual({
      processedBatches: 2,
      processedUsers: 2,
      totalExpiredAmount: 130,
      failed: 0,
      releasedHolds: 0,
      totalReleasedAmount: 0,
    });
    expect(await countRows(t.db, 'credit_ledger')).toBe(ledger);
    expect(await countRows(t.db, 'credit_batches')).toBe(batches);
    expect(await balanceOf(t.db, a)).toBe(150);
    expect(await jobRun(t.db, body.jobId)).toMatchObject({ job: 'expire', dryRun: true, status: 'succeeded' });
  });

  test('with limit=1 the first call leaves work (hasMore), the next finishes it; each batch expires once', async () => {
    const first = await readJson(await call('?limit=1'));
    expect(Object.keys(first)).toEqual(['success', 'jobId', 'duration', 'results', 'hasMore']);
    // The batch that expired first (user b's, two days ago) goes first.
    expect(first).toMatchObject({
      success: true,
      hasMore: true,
      results: { processedBatches: 1, processedUsers: 1, totalExpiredAmount: 30, failed: 0 },
    });
    const second = await readJson(await call('?limit=1', 'POST'));
    expect(second).toMatchObject({ hasMore: false, results: { processedBatches: 1, processedUsers: 1, totalExpiredAmount: 100 } });
    const third = await readJson(await call());
    expect(third).toMatchObject({ hasMore: false, results: { processedBatches: 0, processedUsers: 0, totalExpiredAmount: 0, failed: 0 } });
    expect(await balanceOf(t.db, a)).toBe(50);
    expect(await balanceOf(t.db, b)).toBe(20);
    await expectInvariants(t.db);
  });

  test('limit is clamped into 1…100 000', async () => {
    const low = await readJson(await call('?limit=-7'));
    expect((await jobRun(t.db, low.jobId))?.params).toMatchObject({ limit: 1 });
    const high = await readJson(await call('?limit=100001'));
    expect((await jobRun(t.db, high.jobId))?.params).toMatchObject({ limit: 100_000 });
  });

  test.each([['limit=ten'], ['limit=0x10'], ['dryRun=2'], ['dryRun=1&dryRun=0'], ['catchUp=1']])(
    '?%s is refused with 400',
    async (query) => {
      const response = await call(`?${query}`);
      expect(response.status).toBe(400);
      expect(await readJson(response)).toMatchObject({ error: 'Invalid query' });
    },
  );
});

describe('GET /api/jobs/credits/expire and holds', () => {
  test('a hold whose time ran out is released by the route, and the answer counts it', async () => {
    const user = (await makeUser(t.db)).id;
    await makeBatch(t.db, { userId: user, amount: 40, expiresAt: null, now: ago(1) });
    const key = `stuck-${user}`;
    expect(await reserveCredits(t.db, { userId: user, amount: 25, key, ttlSeconds: 60, now: ago(1) })).toMatchObject({ ok: true });
    const body = await readJson(await call());
    expect(body).toMatchObject({ success: true, hasMore: false, results: { releasedHolds: 1, totalReleasedAmount: 25, failed: 0 } });
    expect(await holdOf(t.db, key)).toMatchObject({ status: 'expired', released: 25 });
    expect(await balanceOf(t.db, user)).toBe(40);
    await expectInvariants(t.db);
  });
});
