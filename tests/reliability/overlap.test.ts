import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inArray, sql } from 'drizzle-orm';
import { queryRows } from '@/lib/server/db/sql';
import { jobRuns } from '@/lib/server/db/schema';
import { GET as grantRoute } from '@/app/api/jobs/credits/grant/route';
import { GET as expireRoute } from '@/app/api/jobs/credits/expire/route';
import { GET as schedulesRoute } from '@/app/api/cron/subscription-grants/route';
import { setupTestDatabase } from '@tests/helpers/db';
import { expectInvariants } from '@tests/helpers/invariants';
import { basic, bearer, cronRequest, setCronEnv } from '@tests/helpers/cron';
import { seedReliabilityData, type ReliabilitySeed } from './fixtures/seed';
import { requireRealServer } from './helpers';

// Vercel may deliver one cron event twice, cron-job.org starts the next call while a slow one runs,
// and someone tries it with curl at the same moment: eight calls of each route at once.
beforeAll(() => requireRealServer());
const t = setupTestDatabase({ maxConnections: 30, routes: true });
let seed: ReliabilitySeed;
beforeAll(async () => {
  setCronEnv();
  process.env.CREDITS_CHUNK_SIZE = '100';
  // Yesterday's expiry and this period's grants are due "now": the routes use the real clock.
  seed = await seedReliabilityData(t.db, { users: 4_000, now: new Date() });
});
afterAll(() => {
  delete process.env.CREDITS_CHUNK_SIZE;
});

const eight = <T>(call: (i: number) => Promise<T>) => Promise.all(Array.from({ length: 8 }, (_, i) => call(i)));

/**
 * The calls were concurrent, not one after another: every run started before any of them finished
 * (from the job-run rows, which the runner stamps with the wall clock).
 */
async function expectAllOverlapped(jobIds: string[]) {
  const runs = await t.db
    .select({ startedAt: jobRuns.startedAt, finishedAt: jobRuns.finishedAt })
    .from(jobRuns)
    .where(inArray(jobRuns.id, jobIds));
  expect(runs).toHaveLength(jobIds.length);
  const lastStart = Math.max(...runs.map((r) => r.startedAt.getTime()));
  const firstFinish = Math.min(...runs.map((r) => r.finishedAt!.getTime()));
  console.log(`[overlap] ${runs.length} runs: the last started ${firstFinish - lastStart} ms before the first finished`);
  expect(lastStart, 'a run started after another had finished: the calls ran one after another').toBeLessThan(firstFinish);
}
const headersFor = (i: number) => (i % 3 === 0 ? bearer() : i % 3 === 1 ? basic() : { ...bearer(), 'user-agent': 'vercel-cron/1.0' });

describe('eight overlapping calls of each route', () => {
  it('grant: the calls overlap, every credit is granted exactly once, and the counts across the answers add up', async () => {
    const responses = await eight((i) => grantRoute(cronRequest('/api/jobs/credits/grant', { headers: headersFor(i) })));
    const bodies = await Promise.all(responses.map((r) => r.json()));
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    const sum = (key: string) => bodies.reduce((total, body) => total + body.results[key], 0);
    const owed = seed.free + seed.monthly;
    expect(sum('successful')).toBe(owed);
    expect(sum('failed')).toBe(0);
    expect(sum('processed')).toBe(sum('successful') + sum('skipped'));
    expect(sum('processed')).toBe(8 * owed);
    await expectAllOverlapped(bodies.map((body) => body.jobId));
    console.log(`[overlap] grant: successful per call ${JSON.stringify(bodies.map((body) => body.results.successful))}`);
    const [row] = await queryRows<{ n: number; dup: number }>(
      t.db,
      sql`select count(*)::int as n, (select count(*) from (select user_id from credit_batches where source in ('free', 'subscription') group by 1 having count(*) > 1) d)::int as dup
            from credit_batches where source in ('free', 'subscription')`,
    );
    expect(row).toEqual({ n: owed, dup: 0 });
    await expectInvariants(t.db);
  });

  it('subscription-grants: the calls overlap and share the schedules, and every installment is granted exactly once', async () => {
    const responses = await eight((i) =>
      schedulesRoute(cronRequest('/api/cron/subscription-grants?limit=500&catchUp=12', { headers: headersFor(i) })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    let bodies = await Promise.all(responses.map((r) => r.json()));
    await expectAllOverlapped(bodies.map((body) => body.jobId));
    // Schedules are taken FOR UPDATE SKIP LOCKED: overlapping calls share them instead of queueing
    // behind the first. 1 000 schedules in chunks of 100: in measurements each of the 8 calls got a
    // share; with a plain FOR UPDATE, 3 or 4 did. A call that starts last may find the work taken.
    console.log(`[overlap] subscription-grants: processed per call ${JSON.stringify(bodies.map((body) => body.processed))}`);
    expect(bodies.filter((body) => body.processed > 0).length).toBeGreaterThanOrEqual(6);
    let processed = bodies.reduce((total, body) => total + body.processed, 0);
    // limit=500 per call: keep calling, eight at a time, until no call reports more work.
    while (bodies.some((body) => body.hasMore)) {
      bodies = await Promise.all(
        (await eight(() => schedulesRoute(cronRequest('/api/cron/subscription-grants?limit=500')))).map((r) => r.json()),
      );
      processed += bodies.reduce((total, body) => total + body.processed, 0);
    }
    expect(processed).toBe(seed.yearly * 4);
    const [row] = await queryRows<{ n: number; behind: number }>(
      t.db,
      sql`select count(*)::int as n, (select count(*) from credit_schedules where installments_done <> 4)::int as behind from credit_batches where source = 'schedule'`,
    );
    expect(row).toEqual({ n: seed.yearly * 4, behind: 0 });
    await expectInvariants(t.db);
  });

  it('expire: the calls overlap, and every due batch is expired exactly once', async () => {
    const responses = await eight((i) => expireRoute(cronRequest('/api/jobs/credits/expire', { headers: headersFor(i) })));
    const bodies = await Promise.all(responses.map((r) => r.json()));
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    const sum = (key: string) => bodies.reduce((total, body) => total + body.results[key], 0);
    expect(sum('processedBatches')).toBe(seed.expiring);
    expect(sum('totalExpiredAmount')).toBe(seed.expiring * 40);
    await expectAllOverlapped(bodies.map((body) => body.jobId));
    console.log(`[overlap] expire: batches per call ${JSON.stringify(bodies.map((body) => body.results.processedBatches))}`);
    const [row] = await queryRows<{ entries: number; due: number }>(
      t.db,
      sql`select (select count(*) from credit_ledger where kind = 'expire')::int as entries,
                 (select count(*) from credit_batches where expired_at is null and expires_at <= now())::int as due`,
    );
    expect(row).toEqual({ entries: seed.expiring, due: 0 });
    await expectInvariants(t.db);
  });
});
