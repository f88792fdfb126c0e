import { beforeEach, describe, expect, test } from 'vitest';
import { connect } from '@/lib/server/db/client';
import { setDatabase } from '@/lib/server/db';
import { GET, POST } from '@/app/api/cron/health/route';
import { GET as grant } from '@/app/api/jobs/credits/grant/route';
import { GET as expire } from '@/app/api/jobs/credits/expire/route';
import { GET as expiringSoon } from '@/app/api/jobs/credits/expiring-soon/route';
import { GET as subscriptionGrants } from '@/app/api/cron/subscription-grants/route';
import { getJobsHealth } from '@/lib/server/usecases/get-jobs-health';
import { setupTestDatabase } from '@tests/helpers/db';
import { makeSubscription, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { bearer, cronRequest, readJson, setCronEnv } from '@tests/helpers/cron';
import { setupClockAt } from '@tests/helpers/clock';

// The route reads the clock: it starts at a fixed instant, so the 26-hour windows below are measured from one known instant.
const now = new Date('2026-04-15T09:00:00Z');

setupClockAt(now);
const t = setupTestDatabase({ routes: true });
beforeEach(() => {
  setDatabase(t);
  setCronEnv();
});

const HOUR = 3_600_000;
const publicCheck = () => GET(cronRequest('/api/cron/health', { headers: {} }));
const authedCheck = () => POST(cronRequest('/api/cron/health', { method: 'POST', headers: bearer() }));

describe('GET|POST /api/cron/health', () => {
  test('a brand-new install (no users, no runs) is ok, and says why', async () => {
    const response = await publicCheck();
    expect(response.status).toBe(200);
    expect(await readJson(response)).toEqual({ status: 'ok' });
    const detail = await readJson(await authedCheck());
    expect(detail).toMatchObject({
      status: 'ok',
      staleAfterHours: 26,
      overdueSchedules: 0,
      jobs: {
        grant: { lastSuccessAt: null, stale: false },
        expire: { lastSuccessAt: null },
        'subscription-grants': { lastSuccessAt: null },
        'expiring-soon': { lastSuccessAt: null },
      },
      note: expect.stringContaining('nothing to watch'),
    });
  });

  test('a job that never ran is degraded 26 hours after the first user signed up (the cron was never set up)', async () => {
    const user = await makeUser(t.db, { now: new Date(now.getTime() - 27 * HOUR) });
    // A yearly plan bought two months ago has an installment due, which the detail reports.
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-yearly', now: new Date(now.getTime() - 62 * 24 * HOUR) });
    // A dry run proves the route answers, not that credits are granted: it does not count as a success.
    expect((await grant(cronRequest('/api/jobs/credits/grant?dryRun=1'))).status).toBe(200);
    const response = await publicCheck();
    expect(response.status).toBe(503);
    expect(await readJson(response)).toEqual({ status: 'degraded' });
    const detailResponse = await authedCheck();
    expect(detailResponse.status).toBe(503);
    expect(await readJson(detailResponse)).toMatchObject({ status: 'degraded', jobs: { grant: { stale: true } }, overdueSchedules: 1 });
  });

  test('once each daily job has succeeded, it is ok again and shows the last runs', async () => {
    for (const [route, path] of [
      [grant, '/api/jobs/credits/grant'],
      [expire, '/api/jobs/credits/expire'],
      [subscriptionGrants, '/api/cron/subscription-grants'],
      [expiringSoon, '/api/jobs/credits/expiring-soon'],
    ] as const) {
      expect((await route(cronRequest(path))).status).toBe(200);
    }
    const response = await authedCheck();
    expect(response.status).toBe(200);
    const body = await readJson(response);
    expect(body).toMatchObject({ status: 'ok', overdueSchedules: 0, oldestOverdueAt: null });
    expect(body.note).toBeUndefined();
    for (const job of ['grant', 'expire', 'subscription-grants', 'expiring-soon']) {
      expect(body.jobs[job]).toMatchObject({ lastSuccessAt: expect.any(String), lastRunStatus: 'succeeded', stale: false });
    }
    expect(await readJson(await publicCheck())).toEqual({ status: 'ok' });
    await expectInvariants(t.db);
  });

  test('a job whose last success is more than 26 hours old makes it degraded', async () => {
    const later = new Date(now.getTime() + 27 * HOUR);
    const report = await getJobsHealth(t.db, { now: later });
    expect(report.status).toBe('degraded');
    expect(report.jobs.grant.stale).toBe(true);
    expect((await getJobsHealth(t.db, { now: new Date(now.getTime() + 25 * HOUR) })).status).toBe('ok');
  });

  test('a header that is present must be valid: a wrong secret is 401, not a silent public answer', async () => {
    const response = await GET(cronRequest('/api/cron/health', { headers: bearer('wrong-secret-0123456789abcdef') }));
    expect(response.status).toBe(401);
  });

  test('the public status needs no cron auth configured at all', async () => {
    setCronEnv({});
    expect(await readJson(await publicCheck())).toEqual({ status: 'ok' });
  });

  test('a database that cannot be reached is degraded with 503', async () => {
    const unreachable = await connect({ url: 'postgres://postgres@127.0.0.1:1/nowhere', maxConnections: 1 });
    setDatabase(unreachable);
    try {
      const pub = await publicCheck();
      expect(pub.status).toBe(503);
      expect(await readJson(pub)).toEqual({ status: 'degraded' });
      const authed = await authedCheck();
      expect(authed.status).toBe(503);
      expect(await readJson(authed)).toEqual({ status: 'degraded', error: 'Database unavailable' });
    } finally {
      await unreachable.close();
    }
  });

  test('a job whose last call left work (hasMore) says so, until a call finishes it', async () => {
    const { grantMonthlyCredits } = await import('@/lib/server/usecases/grant-monthly-credits');
    for (let i = 0; i < 3; i++) await makeUser(t.db);
    await grantMonthlyCredits(t.db, { trigger: 'test', now, limit: 1 });
    expect((await getJobsHealth(t.db, { now })).jobs.grant.workLeft).toBe(true);
    await grantMonthlyCredits(t.db, { trigger: 'test', now: new Date(now.getTime() + 1_000) });
    expect((await getJobsHealth(t.db, { now })).jobs.grant.workLeft).toBe(false);
  });
});
