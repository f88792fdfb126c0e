import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { and, eq, sql } from 'drizzle-orm';
import { connect, type DatabaseHandle } from '@/lib/server/db/client';
import { creditBatches, jobRuns, users } from '@/lib/server/db/schema';
import { addUtcDays, addUtcMonths } from '@/lib/server/credits/time';
import { queryRows } from '@/lib/server/db/sql';
import { emptyCreditsTables } from '@tests/helpers/db';
import { makeSubscription } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { startApp, type App } from './helpers/app';
import { curl as curlUrl, duplicateKeys, peakOverlap, quiet, runsOf } from './helpers/runs';

const CRON_SECRET = 'e2e-cron-secret-0123456789abcdef';
const CRON_USER = 'cron-job-org';
const CRON_PASSWORD = 'e2e:pass:word-0123456789';
const USERS = 25;

let app: App;
let handle: DatabaseHandle;

const curl = (path: string, args: string[] = []) => curlUrl(`${app.baseUrl}${path}`, args);
const asBearer = ['-H', `Authorization: Bearer ${CRON_SECRET}`];
const asBasic = ['-u', `${CRON_USER}:${CRON_PASSWORD}`];

/** `n` users without credits, in one statement, ids in walk order. */
async function seedUsers(n: number, prefix = 'e2e-user') {
  const rows = Array.from({ length: n }, (_, i) => {
    const id = `${prefix}-${String(i).padStart(4, '0')}`;
    return { id, email: `${id}@example.test`, name: id, emailVerified: true };
  });
  await handle.db.insert(users).values(rows);
}

beforeAll(async () => {
  app = await startApp({
    env: { CRON_SECRET, CRON_JOBS_USERNAME: CRON_USER, CRON_JOBS_PASSWORD: CRON_PASSWORD, CREDITS_CHUNK_SIZE: '7' },
  });
  // The app migrated its database on start; each test seeds it directly, as sign-ups would.
  handle = await connect({ url: app.databaseUrl, maxConnections: 4 });
});

// Every test starts from an empty install with USERS users, whatever ran before it or failed.
beforeEach(async () => {
  await quiet(handle.db);
  await emptyCreditsTables(handle.db);
  await seedUsers(USERS);
});

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`--- app logs (last 8 KB) ---\n${app?.logs().slice(-8_000)}`);
});

afterAll(async () => {
  await handle?.close();
  await app?.stop();
});

describe('cron routes over HTTP, the way schedulers call them', () => {
  test('curl with a Bearer secret runs a dry run of the grant job', async () => {
    const res = await curl('/api/jobs/credits/grant?dryRun=1', asBearer);
    expect(res.status).toBe(200);
    expect(res.head.toLowerCase()).toContain('cache-control: no-store');
    expect(res.json).toMatchObject({
      success: true,
      results: { processed: USERS, successful: USERS, skipped: 0, failed: 0 },
      hasMore: false,
    });
    const [row] = await handle.db.select().from(jobRuns).where(eq(jobRuns.id, res.json.jobId));
    expect(row).toMatchObject({ trigger: 'bearer', dryRun: true, status: 'succeeded' });
    expect(await handle.db.select().from(creditBatches)).toEqual([]);
  });

  test('ten grant calls at once run side by side and leave every eligible user with exactly one grant for the period', async () => {
    // Enough users (43 chunks of 7) that each call lasts long enough for the others to start meanwhile.
    const extra = 275;
    await seedUsers(extra, 'e2e-more');
    const everyone = USERS + extra;
    const calls = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2
          ? curl('/api/jobs/credits/grant', ['-X', 'POST', ...asBearer, '-A', 'vercel-cron/1.0'])
          : curl('/api/jobs/credits/grant', asBasic),
      ),
    );
    for (const c of calls) expect(c.status).toBe(200);

    // They really ran at the same time: a server that took them one after another would pass the rest.
    const runs = await runsOf(handle.db, 'grant');
    expect(runs).toHaveLength(10);
    expect(peakOverlap(runs)).toBeGreaterThanOrEqual(2);

    // The grant job does not split the users between callers: every call walks everyone, the keys make
    // each user's grant land once, and the others count it as skipped.
    const sum = (key: 'processed' | 'successful' | 'skipped') => calls.reduce((total, c) => total + c.json.results[key], 0);
    expect(sum('successful')).toBe(everyone);
    expect(sum('processed')).toBe(10 * everyone);
    expect(sum('skipped')).toBe(9 * everyone);
    const free = await handle.db.select().from(creditBatches).where(eq(creditBatches.source, 'free'));
    expect(free).toHaveLength(everyone);
    expect(new Set(free.map((b) => b.userId)).size).toBe(everyone);
    expect(await duplicateKeys(handle.db)).toEqual([]);
    const triggers = await handle.db
      .select({ trigger: jobRuns.trigger })
      .from(jobRuns)
      .where(and(eq(jobRuns.job, 'grant'), eq(jobRuns.dryRun, false)));
    expect(new Set(triggers.map((r) => r.trigger))).toEqual(new Set(['basic', 'vercel-cron']));
    await expectInvariants(handle.db);
  });

  test('five installment calls at once share the due schedules between them, each installment granted once', async () => {
    // Bought a little over three months ago: installments 2, 3 and 4 are due on each schedule.
    // Three months and a day ago, computed from the anchor rule itself (the app reads the real clock):
    // installments 2, 3 and 4 are due whatever today's date, May 31 included.
    const bought = addUtcDays(addUtcMonths(new Date(), -3), -1);
    const SCHEDULES = 300;
    await seedUsers(SCHEDULES, 'e2e-yearly');
    for (let i = 0; i < SCHEDULES; i++) {
      const userId = `e2e-yearly-${String(i).padStart(4, '0')}`;
      await makeSubscription(handle.db, { userId, planId: 'pro-yearly', subscriptionId: `sub-${userId}`, now: bought });
    }
    // An explicit limit: these calls do not continue themselves, so the runs are exactly these five.
    const calls = await Promise.all(Array.from({ length: 5 }, () => curl('/api/cron/subscription-grants?limit=500', asBearer)));
    for (const c of calls) expect(c.status).toBe(200);

    const runs = await runsOf(handle.db, 'subscription-grants');
    expect(runs).toHaveLength(5);
    expect(peakOverlap(runs)).toBeGreaterThanOrEqual(2);
    // Schedules are taken FOR UPDATE SKIP LOCKED: overlapping calls split them instead of queueing.
    const working = calls.filter((c) => c.json.processed > 0);
    expect(working.length).toBeGreaterThanOrEqual(2);
    expect(calls.reduce((total, c) => total + c.json.processed, 0)).toBe(3 * SCHEDULES);
    expect(calls.reduce((total, c) => total + c.json.schedulesTouched, 0)).toBe(SCHEDULES);

    const [row] = await queryRows<{ batches: number; behind: number }>(
      handle.db,
      sql`select (select count(*)::int from credit_batches where source = 'schedule') as batches,
                 (select count(*)::int from credit_schedules where installments_done <> 4) as behind`,
    );
    expect(row).toEqual({ batches: 4 * SCHEDULES, behind: 0 });
    expect(await duplicateKeys(handle.db)).toEqual([]);
    await expectInvariants(handle.db);
  });

  test('curl -u user:pass (a colon in the password) runs the expiry and installment jobs', async () => {
    const expire = await curl('/api/jobs/credits/expire', asBasic);
    expect(expire.status).toBe(200);
    expect(expire.json).toMatchObject({ success: true, results: { processedBatches: 0, failed: 0 }, hasMore: false });
    const schedules = await curl('/api/cron/subscription-grants?limit=10&catchUp=2', asBasic);
    expect(schedules.status).toBe(200);
    expect(schedules.json).toMatchObject({ processed: 0, schedulesTouched: 0, hasMore: false, grants: [] });
    const [row] = await handle.db.select().from(jobRuns).where(eq(jobRuns.id, schedules.json.jobId));
    expect(row).toMatchObject({ trigger: 'basic', params: expect.objectContaining({ limit: 10, catchUp: 2 }) });
  });

  test('a Vercel Cron call is recorded as vercel-cron', async () => {
    const res = await curl('/api/cron/subscription-grants', [...asBearer, '-A', 'vercel-cron/1.0']);
    expect(res.status).toBe(200);
    const [row] = await handle.db.select().from(jobRuns).where(eq(jobRuns.id, res.json.jobId));
    expect(row?.trigger).toBe('vercel-cron');
  });

  test('wrong or missing credentials get 401 with a challenge; bad queries 400; other methods 405', async () => {
    const wrong = await curl('/api/jobs/credits/grant', ['-H', 'Authorization: Bearer not-the-secret-at-all']);
    expect(wrong.status).toBe(401);
    expect(wrong.head).toMatch(/www-authenticate: Basic realm="cron"/i);
    expect(wrong.json).toEqual({ error: 'Unauthorized' });
    expect((await curl('/api/jobs/credits/expire')).status).toBe(401);
    expect((await curl('/api/jobs/credits/grant', ['-u', `${CRON_USER}:wrong`])).status).toBe(401);

    const bad = await curl('/api/cron/subscription-grants?limit=lots', asBearer);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: 'Invalid query' });

    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const res = await curl('/api/jobs/credits/grant', ['-X', method, ...asBearer]);
      expect(res.status).toBe(405);
      expect(res.head).toMatch(/allow: GET, POST/i);
      expect(res.json).toEqual({ error: 'Method not allowed' });
    }
    expect(await handle.db.select().from(jobRuns)).toEqual([]);
  });

  test('health: status only without auth, the detail with it', async () => {
    // A fresh install whose users signed up just now is fine before any run; the grant run shows up.
    const grant = await curl('/api/jobs/credits/grant', asBearer);
    expect(grant.status).toBe(200);
    const open = await curl('/api/cron/health');
    expect(open.status).toBe(200);
    expect(open.json).toEqual({ status: 'ok' });
    const detail = await curl('/api/cron/health', asBearer);
    expect(detail.json).toMatchObject({
      status: 'ok',
      jobs: { grant: { lastSuccessAt: expect.any(String), lastRunStatus: 'succeeded' }, expire: { lastSuccessAt: null } },
      overdueSchedules: 0,
    });
    await expectInvariants(handle.db);
  });

  test('the server logs the contract start and completion lines with the job id', async () => {
    const grant = await curl('/api/jobs/credits/grant', asBearer);
    const id = grant.json.jobId;
    expect(app.logs()).toContain(`[Credits Grant Job ${id}] Starting daily grant process`);
    expect(app.logs()).toMatch(
      new RegExp(`\\[Credits Grant Job ${id}\\] Completed in \\d+ms\\. Processed: ${USERS}, Successful: ${USERS}`),
    );
  });
});
