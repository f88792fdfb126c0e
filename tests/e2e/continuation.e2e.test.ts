import http from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { connect, type DatabaseHandle } from '@/lib/server/db/client';
import { creditBatches, users } from '@/lib/server/db/schema';
import { queryRows } from '@/lib/server/db/sql';
import { emptyCreditsTables } from '@tests/helpers/db';
import { makeBatch, makeSubscription } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { startApp, type App } from './helpers/app';
import { curl, duplicateKeys, quiet, runsOf, waitFor, type RunRow } from './helpers/runs';

// Rule: one daily trigger, with no query, finishes the day's work. Vercel Cron calls each route once
// and never again when the answer says hasMore; so a route continues by itself. Here every call may
// run one chunk of 5 (a 1 ms time budget), so the day's work takes many calls, and the scheduler
// makes exactly one of them.
const CRON_SECRET = 'e2e-continuation-secret-0123456789';
const CHUNK = 5;
const DAY = 86_400_000;
const asVercelCron = ['-H', `Authorization: Bearer ${CRON_SECRET}`, '-A', 'vercel-cron/1.0'];

async function seedUsers(db: DatabaseHandle['db'], n: number, prefix: string) {
  const rows = Array.from({ length: n }, (_, i) => {
    const id = `${prefix}-${String(i).padStart(4, '0')}`;
    return { id, email: `${id}@example.test`, name: id, emailVerified: true };
  });
  await db.insert(users).values(rows);
  return rows.map((r) => r.id);
}

/** Waits until the chain started by `firstRunId` has ended (its last link recorded an outcome other than `continued`). */
async function chainEnded(db: DatabaseHandle['db'], job: string, firstRunId: string) {
  return waitFor(`the ${job} chain of ${firstRunId} to end`, async () => {
    const runs = await runsOf(db, job);
    const chain = runs.filter((r) => r.first_run_id === firstRunId);
    const last = chain.at(-1);
    if (runs.some((r) => r.status === 'running') || !last?.outcome || last.outcome === 'continued') return null;
    return { runs, chain };
  });
}

/** Every run of the job belongs to one chain started by the external call, in order, each a link of it. */
function expectOneChain(runs: RunRow[], chain: RunRow[], firstRunId: string, links: number) {
  expect(runs.map((r) => r.id)).toEqual(chain.map((r) => r.id));
  expect(chain[0]!.id).toBe(firstRunId);
  expect(chain.map((r) => r.position)).toEqual([...Array(links).keys()]);
  expect(chain.map((r) => r.status)).toEqual(Array(links).fill('succeeded'));
  expect(chain.map((r) => r.outcome)).toEqual([...Array(links - 1).fill('continued'), 'finished']);
  expect(chain.map((r) => r.has_more)).toEqual([...Array(links - 1).fill(true), false]);
  // The chain keeps the trigger of the call that started it.
  expect(new Set(chain.map((r) => r.trigger))).toEqual(new Set(['vercel-cron']));
}

describe('one scheduled call finishes the day: the route continues itself', () => {
  let app: App;
  let handle: DatabaseHandle;

  beforeAll(async () => {
    app = await startApp({ env: { CRON_SECRET, CRON_TIME_BUDGET_MS: '1', CREDITS_CHUNK_SIZE: String(CHUNK) } });
    handle = await connect({ url: app.databaseUrl, maxConnections: 4 });
  });
  beforeEach(async () => {
    // A chain a failed test left behind must not write into this one.
    await quiet(handle.db);
    await emptyCreditsTables(handle.db);
  });
  afterEach((context) => {
    if (context.task.result?.state === 'fail') console.error(`--- app logs (last 8 KB) ---\n${app?.logs().slice(-8_000)}`);
  });
  afterAll(async () => {
    await handle?.close();
    await app?.stop();
  });

  test('grant: one call, every user granted once, every continuation a job run linked to the first', async () => {
    const USERS = 58;
    await seedUsers(handle.db, USERS, 'cont-grant');
    const first = await curl(`${app.baseUrl}/api/jobs/credits/grant`, asVercelCron);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ success: true, hasMore: true, results: { processed: CHUNK, successful: CHUNK } });
    expect(first.head).toMatch(/x-cron-continuation: scheduled/i);

    const { runs, chain } = await chainEnded(handle.db, 'grant', first.json.jobId);
    expectOneChain(runs, chain, first.json.jobId, Math.ceil(USERS / CHUNK));
    expect(chain.reduce((total, r) => total + r.results!.successful!, 0)).toBe(USERS);

    const [row] = await queryRows<{ batches: number; users: number }>(
      handle.db,
      sql`select count(*)::int as batches, count(distinct user_id)::int as users from credit_batches where source = 'free'`,
    );
    expect(row).toEqual({ batches: USERS, users: USERS });
    expect(await duplicateKeys(handle.db)).toEqual([]);
    await expectInvariants(handle.db);
    expect(app.logs()).toMatch(
      new RegExp(`\\[cron chain ${first.json.jobId}\\] grant: link 1 \\(run [0-9a-f-]{36}\\) left work; continuing as link 2`),
    );
  });

  test('expire: one call, every due batch expired once', async () => {
    const USERS = 33;
    const ids = await seedUsers(handle.db, USERS, 'cont-expire');
    const ago = (days: number) => new Date(Date.now() - days * DAY);
    for (const userId of ids) {
      await makeBatch(handle.db, { userId, amount: 40, effectiveAt: ago(10), expiresAt: ago(1), now: ago(10) });
      await makeBatch(handle.db, { userId, amount: 7, expiresAt: null });
    }
    const first = await curl(`${app.baseUrl}/api/jobs/credits/expire`, asVercelCron);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ success: true, hasMore: true });

    const { runs, chain } = await chainEnded(handle.db, 'expire', first.json.jobId);
    expectOneChain(runs, chain, first.json.jobId, Math.ceil(USERS / CHUNK));
    expect(chain.reduce((total, r) => total + r.results!.processedBatches!, 0)).toBe(USERS);
    expect(chain.reduce((total, r) => total + r.results!.totalExpiredAmount!, 0)).toBe(40 * USERS);

    const [row] = await queryRows<{ due: number; expired: number; entries: number }>(
      handle.db,
      sql`select (select count(*)::int from credit_batches where expired_at is null and expires_at <= now()) as due,
                 (select count(*)::int from credit_batches where expired_at is not null) as expired,
                 (select count(*)::int from credit_ledger where kind = 'expire') as entries`,
    );
    expect(row).toEqual({ due: 0, expired: USERS, entries: USERS });
    await expectInvariants(handle.db);
  });

  test('subscription-grants: one call with no query, every due installment granted once', async () => {
    const SCHEDULES = 27;
    // Bought a little over three months ago: installments 2, 3 and 4 are due on each schedule.
    const bought = new Date();
    bought.setUTCMonth(bought.getUTCMonth() - 3);
    bought.setUTCDate(Math.min(bought.getUTCDate(), 28));
    bought.setTime(bought.getTime() - DAY);
    const ids = await seedUsers(handle.db, SCHEDULES, 'cont-yearly');
    for (const userId of ids)
      await makeSubscription(handle.db, { userId, planId: 'pro-yearly', subscriptionId: `sub-${userId}`, now: bought });

    const first = await curl(`${app.baseUrl}/api/cron/subscription-grants`, asVercelCron);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ processed: 3 * CHUNK, schedulesTouched: CHUNK, hasMore: true });
    const [firstRun] = await runsOf(handle.db, 'subscription-grants');
    expect(firstRun).toMatchObject({ id: first.json.jobId });

    const { runs, chain } = await chainEnded(handle.db, 'subscription-grants', first.json.jobId);
    expectOneChain(runs, chain, first.json.jobId, Math.ceil(SCHEDULES / CHUNK));
    expect(chain.reduce((total, r) => total + r.results!.processed!, 0)).toBe(3 * SCHEDULES);

    const perKey = await queryRows<{ schedule_id: string; n: number; installments: number }>(
      handle.db,
      sql`select schedule_id, count(*)::int as n, count(distinct installment)::int as installments
            from credit_batches where source = 'schedule' group by 1`,
    );
    expect(perKey).toHaveLength(SCHEDULES);
    expect(perKey.every((r) => r.n === 4 && r.installments === 4)).toBe(true);
    const [behind] = await queryRows<{ n: number }>(
      handle.db,
      sql`select count(*)::int as n from credit_schedules where installments_done <> 4`,
    );
    expect(behind!.n).toBe(0);
    expect(await duplicateKeys(handle.db)).toEqual([]);
    await expectInvariants(handle.db);
  });

  test('a forged Host header does not move the continuation (and the secret) to another host or port', async () => {
    // Something else listening on this machine: it must never see the continuation.
    const seen: string[] = [];
    const other = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.end('{}');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const port = (other.address() as { port: number }).port;
    try {
      for (const host of [`127.0.0.1:${port}`, 'evil.example']) {
        await quiet(handle.db);
        await emptyCreditsTables(handle.db);
        await seedUsers(handle.db, 12, 'cont-host');
        const first = await curl(`${app.baseUrl}/api/jobs/credits/grant`, [...asVercelCron, '-H', `Host: ${host}`]);
        expect(first.status).toBe(200);
        const { runs, chain } = await chainEnded(handle.db, 'grant', first.json.jobId);
        expectOneChain(runs, chain, first.json.jobId, 3);
      }
      expect(seen).toEqual([]);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  test('an explicit limit keeps its meaning, and a dry run is never continued', async () => {
    await seedUsers(handle.db, 20, 'cont-limit');
    const limited = await curl(`${app.baseUrl}/api/jobs/credits/grant?limit=3`, asVercelCron);
    expect(limited.json).toMatchObject({ hasMore: true, results: { processed: 3 } });
    expect(limited.head).toMatch(/x-cron-continuation: none/i);
    const dry = await curl(`${app.baseUrl}/api/jobs/credits/grant?dryRun=1`, asVercelCron);
    expect(dry.json).toMatchObject({ hasMore: true });
    expect(dry.head).toMatch(/x-cron-continuation: none/i);
    // Give a wrongly scheduled continuation time to show up.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const runs = await runsOf(handle.db, 'grant');
    expect(runs.map((r) => r.id)).toEqual([limited.json.jobId]);
    expect(await handle.db.select().from(creditBatches).where(eq(creditBatches.source, 'free'))).toHaveLength(3);
  });
});

describe('the chain is bounded', () => {
  let app: App;
  let handle: DatabaseHandle;

  beforeAll(async () => {
    app = await startApp({
      env: { CRON_SECRET, CRON_TIME_BUDGET_MS: '1', CREDITS_CHUNK_SIZE: String(CHUNK), CRON_MAX_CONTINUATIONS: '2' },
    });
    handle = await connect({ url: app.databaseUrl, maxConnections: 4 });
  });
  afterAll(async () => {
    await handle?.close();
    await app?.stop();
  });

  test('at CRON_MAX_CONTINUATIONS the chain stops, logs it loudly, and its last run keeps hasMore', async () => {
    await seedUsers(handle.db, 40, 'bound');
    const first = await curl(`${app.baseUrl}/api/jobs/credits/grant`, asVercelCron);
    expect(first.status).toBe(200);
    const { runs, chain } = await chainEnded(handle.db, 'grant', first.json.jobId);
    expect(chain.map((r) => [r.position, r.outcome, r.has_more])).toEqual([
      [0, 'continued', true],
      [1, 'continued', true],
      [2, 'stopped-at-bound', true],
    ]);
    expect(runs).toHaveLength(3);
    expect(app.logs()).toMatch(new RegExp(`\\[cron chain ${first.json.jobId}\\] grant: STOPPED at the bound of 2 continuations`));
    // Nothing more happens by itself: the rest waits for the next scheduled call, which resumes where the chain stopped.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await runsOf(handle.db, 'grant')).toHaveLength(3);
    const next = await curl(`${app.baseUrl}/api/jobs/credits/grant`, asVercelCron);
    const second = await chainEnded(handle.db, 'grant', next.json.jobId);
    expect(second.chain.map((r) => r.outcome)).toEqual(['continued', 'continued', 'stopped-at-bound']);
    const third = await curl(`${app.baseUrl}/api/jobs/credits/grant`, asVercelCron);
    const last = await chainEnded(handle.db, 'grant', third.json.jobId);
    expect(last.chain.map((r) => r.outcome)).toEqual(['continued', 'finished']);
    const [row] = await queryRows<{ n: number }>(handle.db, sql`select count(*)::int as n from credit_batches where source = 'free'`);
    expect(row!.n).toBe(40);
    expect(await duplicateKeys(handle.db)).toEqual([]);
    await expectInvariants(handle.db);
  });
});
