import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { connect, type DatabaseHandle } from '@/lib/server/db/client';
import { creditBatches, jobRuns } from '@/lib/server/db/schema';
import { makeUser } from '../helpers/factories';
import { expectInvariants } from '../helpers/invariants';
import { startApp, type App } from './helpers/app';

const run = promisify(execFile);
const CRON_SECRET = 'e2e-cron-secret-0123456789abcdef';
const CRON_USER = 'cron-job-org';
const CRON_PASSWORD = 'e2e:pass:word-0123456789';
const USERS = 25;

let app: App;
let handle: DatabaseHandle;

/** Calls a route with the real curl, as a crontab or a shell would; returns status, headers and body. */
async function curl(path: string, args: string[] = []) {
  const { stdout } = await run('curl', ['-sS', '-i', '--max-time', '60', ...args, `${app.baseUrl}${path}`]);
  const [head, ...rest] = stdout.split('\r\n\r\n');
  const status = Number(head!.split(' ')[1]);
  const body = rest.join('\r\n\r\n');
  return { status, head: head!, json: body ? JSON.parse(body) : null };
}

beforeAll(async () => {
  app = await startApp({
    env: { CRON_SECRET, CRON_JOBS_USERNAME: CRON_USER, CRON_JOBS_PASSWORD: CRON_PASSWORD, CREDITS_CHUNK_SIZE: '7' },
  });
  // The app migrated its database on start; seed it directly, as sign-ups would.
  handle = await connect({ url: app.databaseUrl, maxConnections: 4 });
  for (let i = 0; i < USERS; i++) await makeUser(handle.db, { id: `e2e-user-${String(i).padStart(3, '0')}` });
});

afterAll(async () => {
  await handle?.close();
  await app?.stop();
});

describe('cron routes over HTTP, the way schedulers call them', () => {
  test('curl with a Bearer secret runs a dry run of the grant job', async () => {
    const res = await curl('/api/jobs/credits/grant?dryRun=1', ['-H', `Authorization: Bearer ${CRON_SECRET}`]);
    expect(res.status).toBe(200);
    expect(res.head.toLowerCase()).toContain('cache-control: no-store');
    expect(res.json).toMatchObject({ success: true, results: { processed: USERS, successful: USERS, skipped: 0, failed: 0 }, hasMore: false });
    const [row] = await handle.db.select().from(jobRuns).where(eq(jobRuns.id, res.json.jobId));
    expect(row).toMatchObject({ trigger: 'bearer', dryRun: true, status: 'succeeded' });
  });

  test('ten grant calls at once leave every eligible user with exactly one grant for the period', async () => {
    const calls = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2
          ? curl('/api/jobs/credits/grant', ['-X', 'POST', '-H', `Authorization: Bearer ${CRON_SECRET}`, '-A', 'vercel-cron/1.0'])
          : curl('/api/jobs/credits/grant', ['-u', `${CRON_USER}:${CRON_PASSWORD}`]),
      ),
    );
    for (const c of calls) expect(c.status).toBe(200);
    const granted = calls.reduce((sum, c) => sum + c.json.results.successful, 0);
    expect(granted).toBe(USERS);
    const free = await handle.db.select().from(creditBatches).where(eq(creditBatches.source, 'free'));
    expect(free).toHaveLength(USERS);
    expect(new Set(free.map((b) => b.userId)).size).toBe(USERS);
    const triggers = await handle.db.select({ trigger: jobRuns.trigger }).from(jobRuns).where(and(eq(jobRuns.job, 'grant'), eq(jobRuns.dryRun, false)));
    expect(new Set(triggers.map((r) => r.trigger))).toEqual(new Set(['basic', 'vercel-cron']));
    await expectInvariants(handle.db);
  });

  test('curl -u user:pass (a colon in the password) runs the expiry and installment jobs', async () => {
    const expire = await curl('/api/jobs/credits/expire', ['-u', `${CRON_USER}:${CRON_PASSWORD}`]);
    expect(expire.status).toBe(200);
    expect(expire.json).toMatchObject({ success: true, results: { processedBatches: 0, failed: 0 }, hasMore: false });
    const schedules = await curl('/api/cron/subscription-grants?limit=10&catchUp=2', ['-u', `${CRON_USER}:${CRON_PASSWORD}`]);
    expect(schedules.status).toBe(200);
    expect(schedules.json).toMatchObject({ processed: 0, schedulesTouched: 0, hasMore: false, grants: [] });
  });

  test('a Vercel Cron call is recorded as vercel-cron', async () => {
    const res = await curl('/api/cron/subscription-grants', ['-H', `Authorization: Bearer ${CRON_SECRET}`, '-A', 'vercel-cron/1.0']);
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

    const bad = await curl('/api/cron/subscription-grants?limit=lots', ['-H', `Authorization: Bearer ${CRON_SECRET}`]);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: 'Invalid query' });

    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const res = await curl('/api/jobs/credits/grant', ['-X', method, '-H', `Authorization: Bearer ${CRON_SECRET}`]);
      expect(res.status).toBe(405);
      expect(res.head).toMatch(/allow: GET, POST/i);
      expect(res.json).toEqual({ error: 'Method not allowed' });
    }
  });

  test('health: status only without auth, the detail with it', async () => {
    const open = await curl('/api/cron/health');
    expect(open.status).toBe(200);
    expect(open.json).toEqual({ status: 'ok' });
    const detail = await curl('/api/cron/health', ['-H', `Authorization: Bearer ${CRON_SECRET}`]);
    expect(detail.json).toMatchObject({ status: 'ok', jobs: { grant: { lastSuccessAt: expect.any(String) } }, overdueSchedules: 0 });
    await expectInvariants(handle.db);
  });

  test('the server logged the contract start and completion lines with the job id', () => {
    expect(app.logs()).toMatch(/\[Credits Grant Job [0-9a-f-]{36}\] Starting daily grant process/);
    expect(app.logs()).toMatch(/\[Credits Grant Job [0-9a-f-]{36}\] Completed in \d+ms\. Processed: \d+, Successful: \d+/);
  });
});
