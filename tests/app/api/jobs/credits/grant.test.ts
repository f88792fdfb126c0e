import { beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { creditBatches, jobRuns } from '@/lib/server/db/schema';
import { GET, POST } from '@/app/api/jobs/credits/grant/route';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeSubscription, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { basic, countRows, cronRequest, jobRun, readJson, setCronEnv } from '@tests/helpers/cron';
import { setupClockAt } from '@tests/helpers/clock';

// The route reads the clock: it starts at a fixed instant, so the day the run reports is known
// (reading the real clock twice, once in the route and once in the test, could straddle midnight).
const now = at('2026-03-31T12:00:00Z');

setupClockAt(now);
const t = setupTestDatabase({ routes: true });
beforeEach(() => setCronEnv());

// The job id of every run this file starts, to check at the end that each one was recorded.
const started: string[] = [];
async function answer(response: Response) {
  const body = await readJson(response);
  if (body.jobId) started.push(body.jobId);
  return body;
}
const call = (query = '', method: 'GET' | 'POST' = 'GET') =>
  (method === 'GET' ? GET : POST)(cronRequest(`/api/jobs/credits/grant${query}`, { method }));

async function freeBatches(userId: string) {
  return t.db
    .select()
    .from(creditBatches)
    .where(and(eq(creditBatches.userId, userId), eq(creditBatches.source, 'free')));
}

describe('GET|POST /api/jobs/credits/grant', () => {
  const free: string[] = [];
  let subscriber: string;

  beforeAll(async () => {
    // Users are walked in id order: the subscriber comes last.
    for (let i = 0; i < 5; i++) free.push((await makeUser(t.db, { id: `user-${i}` })).id);
    subscriber = (await makeUser(t.db, { id: 'user-9-subscriber' })).id;
    // Its first period is granted at purchase: the job finds it due and skips it.
    await makeSubscription(t.db, { userId: subscriber, planId: 'pro-monthly', now });
  });

  test('a dry run reports what would be granted and writes nothing but its job run', async () => {
    const before = {
      batches: await countRows(t.db, 'credit_batches'),
      ledger: await countRows(t.db, 'credit_ledger'),
      runs: await countRows(t.db, 'job_runs'),
    };
    const body = await answer(await call('?dryRun=1'));
    expect(body.results).toEqual({ processed: 6, successful: 5, skipped: 1, failed: 0 });
    expect(await countRows(t.db, 'credit_batches')).toBe(before.batches);
    expect(await countRows(t.db, 'credit_ledger')).toBe(before.ledger);
    expect(await countRows(t.db, 'job_runs')).toBe(before.runs + 1);
    expect(await jobRun(t.db, body.jobId)).toMatchObject({ dryRun: true, status: 'succeeded', trigger: 'bearer' });
  });

  test('with a limit, calls continue where the last stopped (hasMore) and grant nothing twice', async () => {
    const first = await answer(await call('?limit=2'));
    expect(first).toMatchObject({ success: true, hasMore: true, results: { processed: 2, successful: 2, skipped: 0, failed: 0 } });
    const second = await answer(await call('?limit=2', 'POST'));
    expect(second).toMatchObject({ hasMore: true, results: { processed: 2, successful: 2 } });
    const third = await answer(await call('?limit=2'));
    expect(third).toMatchObject({ hasMore: false, results: { processed: 2, successful: 1, skipped: 1, failed: 0 } });
    // A new call after the day's work is done starts over and finds everything granted.
    const again = await answer(await call());
    expect(again.results).toEqual({ processed: 6, successful: 0, skipped: 6, failed: 0 });
    for (const userId of free) expect(await freeBatches(userId)).toHaveLength(1);
    expect(await freeBatches(subscriber)).toHaveLength(0);
    await expectInvariants(t.db);
  });

  test('answers exactly the contract shape, and records the run with its trigger and clamped limit', async () => {
    const response = await GET(cronRequest('/api/jobs/credits/grant?limit=0', { headers: basic() }));
    expect(response.status).toBe(200);
    const body = await answer(response);
    expect(Object.keys(body)).toEqual(['success', 'jobId', 'date', 'duration', 'results', 'hasMore']);
    expect(Object.keys(body.results)).toEqual(['processed', 'successful', 'skipped', 'failed']);
    expect(body.date).toBe('2026-03-31');
    expect(body.duration).toEqual(expect.any(Number));
    const run = await jobRun(t.db, body.jobId);
    expect(run).toMatchObject({ job: 'grant', trigger: 'basic', status: 'succeeded', params: expect.objectContaining({ limit: 1 }) });
  });

  test('a limit far above the bound is clamped to 100 000, not refused', async () => {
    const body = await answer(await call('?limit=99999999999999999999&dryRun=true'));
    expect((await jobRun(t.db, body.jobId))?.params).toMatchObject({ limit: 100_000, dryRun: true });
  });

  test.each([
    ['limit=abc'],
    ['limit=1.5'],
    ['limit='],
    ['limit=1e3'],
    ['dryRun=yes'],
    ['dryRun='],
    ['limit=5&limit=6'],
    ['dryrun=1'],
    ['catchUp=3'],
  ])('?%s is refused with 400 and runs nothing', async (query) => {
    const runs = await countRows(t.db, 'job_runs');
    const response = await call(`?${query}`);
    expect(response.status).toBe(400);
    const body = await readJson(response);
    expect(body).toEqual({
      error: 'Invalid query',
      details: [expect.objectContaining({ param: expect.any(String), message: expect.any(String) })],
    });
    expect(await countRows(t.db, 'job_runs')).toBe(runs);
  });

  test('every run of this file was recorded, as succeeded, and no other', async () => {
    // One dry run, four calls with a limit, one contract check, one clamp check (refused queries start no run).
    expect(started).toHaveLength(7);
    const rows = await t.db.select({ id: jobRuns.id, status: jobRuns.status }).from(jobRuns).where(eq(jobRuns.job, 'grant'));
    expect(rows.map((row) => row.id).sort()).toEqual([...started].sort());
    expect(rows.map((row) => row.status)).toEqual(started.map(() => 'succeeded'));
    await expectInvariants(t.db);
  });
});
