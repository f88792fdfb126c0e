import { beforeAll, describe, expect, test } from 'vitest';
import * as grantRoute from '@/app/api/jobs/credits/grant/route';
import * as expireRoute from '@/app/api/jobs/credits/expire/route';
import * as subscriptionGrantsRoute from '@/app/api/cron/subscription-grants/route';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeSubscription, makeUser } from '@tests/helpers/factories';
import { basic, cronRequest, setCronEnv } from '@tests/helpers/cron';
import { setupClockAt } from '@tests/helpers/clock';

// The exact answers of the three cron routes, byte for byte (status, headers, body text), captured
// before the routes were rebuilt on the job registry: a change of a key, its order, a status or a
// header fails here. Only what differs from call to call is normalized: ids and durations.

const now = at('2026-05-31T12:00:00Z');
const DAY = 86_400_000;

setupClockAt(now);
const t = setupTestDatabase({ routes: true });
beforeAll(async () => {
  setCronEnv();
  const user = await makeUser(t.db, { id: 'user-a', now: at('2026-01-01T00:00:00Z') });
  // Bought three months and four days ago: installments 2, 3 and 4 are due.
  await makeSubscription(t.db, { userId: user.id, planId: 'pro-yearly', now: at('2026-02-27T12:00:00Z'), subscriptionId: 'sub-a' });
  for (const [amount, days] of [
    [100, 1],
    [30, 2],
  ] as const) {
    await makeBatch(t.db, {
      userId: user.id,
      amount,
      effectiveAt: new Date(now.getTime() - 10 * DAY),
      expiresAt: new Date(now.getTime() - days * DAY),
      now: new Date(now.getTime() - 10 * DAY),
    });
  }
  await makeUser(t.db, { id: 'user-b', now: at('2026-01-01T00:00:00Z') });
  await makeBatch(t.db, {
    userId: 'user-b',
    amount: 7,
    effectiveAt: new Date(now.getTime() - 10 * DAY),
    expiresAt: new Date(now.getTime() - 3 * DAY),
    now: new Date(now.getTime() - 10 * DAY),
  });
});

type Route = Record<'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS', (req: Request) => Promise<Response> | Response>;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Status, every header, and the body text with ids and durations normalized. */
async function capture(response: Response) {
  const text = await response.text();
  const headers = [...response.headers.entries()].map(([k, v]) => `${k}: ${v}`).sort();
  return {
    status: response.status,
    headers,
    body: text.replace(UUID, '<uuid>').replace(/"duration":\d+/g, '"duration":0'),
  };
}

const JSON_HEADERS = ['cache-control: no-store', 'content-type: application/json'];

describe.each([
  {
    name: 'grant',
    route: grantRoute as unknown as Route,
    path: '/api/jobs/credits/grant',
    dryRun:
      '{"success":true,"jobId":"<uuid>","date":"2026-05-31","duration":0,"results":{"processed":1,"successful":1,"skipped":0,"failed":0},"hasMore":false}',
    limited:
      '{"success":true,"jobId":"<uuid>","date":"2026-05-31","duration":0,"results":{"processed":0,"successful":0,"skipped":0,"failed":0},"hasMore":true}',
    success:
      '{"success":true,"jobId":"<uuid>","date":"2026-05-31","duration":0,"results":{"processed":1,"successful":1,"skipped":0,"failed":0},"hasMore":false}',
    badQuery: '{"error":"Invalid query","details":[{"param":"catchUp","message":"unknown parameter"}]}',
  },
  {
    name: 'subscription-grants',
    route: subscriptionGrantsRoute as unknown as Route,
    path: '/api/cron/subscription-grants',
    dryRun:
      '{"processed":3,"schedulesTouched":1,"failed":0,"jobId":"<uuid>","duration":0,"hasMore":false,"grants":[{"scheduleId":"<uuid>","subscriptionId":"sub-a","userId":"user-a","totalGranted":2499,"grantsProcessed":3,"remainingGrants":8}]}',
    limited:
      '{"processed":1,"schedulesTouched":1,"failed":0,"jobId":"<uuid>","duration":0,"hasMore":true,"grants":[{"scheduleId":"<uuid>","subscriptionId":"sub-a","userId":"user-a","totalGranted":833,"grantsProcessed":1,"remainingGrants":10}]}',
    success:
      '{"processed":2,"schedulesTouched":1,"failed":0,"jobId":"<uuid>","duration":0,"hasMore":false,"grants":[{"scheduleId":"<uuid>","subscriptionId":"sub-a","userId":"user-a","totalGranted":1666,"grantsProcessed":2,"remainingGrants":8}]}',
    badQuery: '{"error":"Invalid query","details":[{"param":"catchUp","message":"must be a whole number"}]}',
  },
  {
    name: 'expire',
    route: expireRoute as unknown as Route,
    path: '/api/jobs/credits/expire',
    dryRun:
      '{"success":true,"jobId":"<uuid>","duration":0,"results":{"processedBatches":4,"processedUsers":2,"totalExpiredAmount":970,"failed":0,"releasedHolds":0,"totalReleasedAmount":0},"hasMore":false}',
    limited:
      '{"success":true,"jobId":"<uuid>","duration":0,"results":{"processedBatches":3,"processedUsers":1,"totalExpiredAmount":963,"failed":0,"releasedHolds":0,"totalReleasedAmount":0},"hasMore":true}',
    success:
      '{"success":true,"jobId":"<uuid>","duration":0,"results":{"processedBatches":1,"processedUsers":1,"totalExpiredAmount":7,"failed":0,"releasedHolds":0,"totalReleasedAmount":0},"hasMore":false}',
    badQuery: '{"error":"Invalid query","details":[{"param":"catchUp","message":"unknown parameter"}]}',
  },
])('$path answers exactly what it answered before the job registry', ({ route, path, dryRun, limited, success, badQuery }) => {
  test('a dry run: 200 with what a real run would do', async () => {
    expect(await capture(await route.GET(cronRequest(`${path}?dryRun=1`)))).toEqual({ status: 200, headers: JSON_HEADERS, body: dryRun });
  });

  test('a call with a limit that leaves work: 200, hasMore, and X-Cron-Continuation: none', async () => {
    const response = await route.POST(
      cronRequest(`${path}?limit=1${path.includes('subscription') ? '&catchUp=1' : ''}`, { method: 'POST', headers: basic() }),
    );
    expect(await capture(response)).toEqual({ status: 200, headers: [...JSON_HEADERS, 'x-cron-continuation: none'], body: limited });
  });

  test('a call that finishes the work: 200, no continuation header', async () => {
    expect(await capture(await route.GET(cronRequest(path)))).toEqual({ status: 200, headers: JSON_HEADERS, body: success });
  });

  test('a bad query: 400 with the details', async () => {
    const query = path.includes('subscription') ? '?catchUp=abc' : '?catchUp=3';
    expect(await capture(await route.GET(cronRequest(`${path}${query}`)))).toEqual({ status: 400, headers: JSON_HEADERS, body: badQuery });
  });

  test('a malformed chain header: 400', async () => {
    const response = await route.POST(
      cronRequest(path, { method: 'POST', headers: { authorization: `Bearer ${process.env.CRON_SECRET}`, 'x-cron-chain': 'nope' } }),
    );
    expect(await capture(response)).toEqual({
      status: 400,
      headers: JSON_HEADERS,
      body: '{"error":"Invalid continuation header","details":[{"header":"x-cron-chain","message":"x-cron-chain must be <first run id>/<position>"}]}',
    });
  });

  test('a wrong secret: 401 with the Basic challenge', async () => {
    expect(await capture(await route.GET(cronRequest(path, { headers: { authorization: 'Bearer wrong-secret-0123456789' } })))).toEqual({
      status: 401,
      headers: [...JSON_HEADERS, 'www-authenticate: Basic realm="cron"'],
      body: '{"error":"Unauthorized"}',
    });
  });

  test.each(['PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const)('%s: 405 with Allow', async (method) => {
    expect(await capture(await route[method](cronRequest(path, { method })))).toEqual({
      status: 405,
      headers: ['allow: GET, POST', ...JSON_HEADERS],
      body: '{"error":"Method not allowed"}',
    });
  });

  test('no cron credentials configured: 500', async () => {
    setCronEnv({});
    try {
      expect(await capture(await route.GET(cronRequest(path)))).toEqual({
        status: 500,
        headers: JSON_HEADERS,
        body: '{"error":"Cron auth not configured"}',
      });
    } finally {
      setCronEnv();
    }
  });
});
