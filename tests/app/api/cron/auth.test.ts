import { beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { connect } from '@/lib/server/db/client';
import { setDatabase } from '@/lib/server/db';
import * as grantRoute from '@/app/api/jobs/credits/grant/route';
import * as expireRoute from '@/app/api/jobs/credits/expire/route';
import * as schedulesRoute from '@/app/api/cron/subscription-grants/route';
import * as expiringSoonRoute from '@/app/api/jobs/credits/expiring-soon/route';
import * as healthRoute from '@/app/api/cron/health/route';
import { setupTestDatabase } from '@tests/helpers/db';
import {
  basic,
  bearer,
  countRows,
  CRON_PASSWORD,
  CRON_SECRET,
  CRON_USER,
  cronRequest,
  jobRun,
  readJson,
  setCronEnv,
} from '@tests/helpers/cron';
import { makeBatch, makeSubscription, makeUser } from '@tests/helpers/factories';

const t = setupTestDatabase({ routes: true });
beforeAll(async () => {
  // Work for each route, were a refused call to run: a user owed free credits, a batch past its
  // expiry, and a yearly plan with installments due.
  const user = await makeUser(t.db);
  await makeBatch(t.db, {
    userId: user.id,
    amount: 10,
    effectiveAt: new Date('2020-01-01T00:00:00Z'),
    expiresAt: new Date('2020-02-01T00:00:00Z'),
    now: new Date('2020-01-01T00:00:00Z'),
  });
  await makeSubscription(t.db, { userId: user.id, planId: 'pro-yearly', now: new Date('2020-01-01T00:00:00Z') });
});
const tables = ['job_runs', 'credit_batches', 'credit_ledger'] as const;
beforeEach(() => {
  setDatabase(t);
  setCronEnv();
});

const routes = [
  ['/api/jobs/credits/grant', grantRoute],
  ['/api/jobs/credits/expire', expireRoute],
  ['/api/cron/subscription-grants', schedulesRoute],
  ['/api/jobs/credits/expiring-soon', expiringSoonRoute],
] as const;
const b64 = (value: string) => Buffer.from(value).toString('base64');

describe.each(routes)('%s', (path, route) => {
  const dryRun = `${path}?dryRun=1`;

  test.each([
    ['Bearer <CRON_SECRET>', bearer(), 'bearer'],
    ['Bearer from Vercel Cron', { ...bearer(), 'user-agent': 'vercel-cron/1.0' }, 'vercel-cron'],
    ['Basic with a colon in the password', basic(), 'basic'],
  ])('accepts %s and records the trigger', async (_name, headers, trigger) => {
    for (const method of ['GET', 'POST'] as const) {
      const response = await route[method](cronRequest(dryRun, { method, headers }));
      expect(response.status).toBe(200);
      const body = await readJson(response);
      expect(await jobRun(t.db, body.jobId)).toMatchObject({ trigger, status: 'succeeded' });
    }
  });

  test.each([
    ['no header', {}],
    ['a wrong secret', bearer('wrong-secret-0123456789abcdef')],
    ['a lowercase scheme with a wrong secret', { authorization: 'bearer wrong-secret-0123456789' }],
    ['the secret with trailing junk', { authorization: `Bearer ${CRON_SECRET} x` }],
    ['malformed base64', { authorization: 'Basic %%%%' }],
    ['Basic without a colon', { authorization: `Basic ${b64(CRON_USER + CRON_PASSWORD)}` }],
    ['an empty password', { authorization: `Basic ${b64(`${CRON_USER}:`)}` }],
    ['an empty user name', { authorization: `Basic ${b64(`:${CRON_PASSWORD}`)}` }],
    ['a header of 100 KB', { authorization: `Bearer ${'x'.repeat(100_000)}` }],
  ])('refuses %s with 401 and a Basic challenge, and runs nothing', async (_name, headers) => {
    const before = await Promise.all(tables.map((table) => countRows(t.db, table)));
    // A real call, not a dry run: if it ran, it would grant, expire or pay out what is due.
    const response = await route.GET(cronRequest(path, { headers }));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="cron"');
    expect(await readJson(response)).toEqual({ error: 'Unauthorized' });
    expect(await Promise.all(tables.map((table) => countRows(t.db, table)))).toEqual(before);
  });

  test('refuses everything with 500 when no cron auth is configured', async () => {
    setCronEnv({});
    for (const headers of [{}, bearer(), basic()]) {
      const response = await route.POST(cronRequest(dryRun, { method: 'POST', headers }));
      expect(response.status).toBe(500);
      expect(await readJson(response)).toEqual({ error: 'Cron auth not configured' });
    }
  });

  test('with only the Bearer secret configured, Basic is refused and the challenge says Bearer', async () => {
    setCronEnv({ CRON_SECRET });
    const response = await route.GET(cronRequest(dryRun, { headers: basic() }));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="cron"');
    expect((await route.GET(cronRequest(dryRun))).status).toBe(200);
  });

  test('with only Basic configured, Bearer is refused', async () => {
    setCronEnv({ CRON_JOBS_USERNAME: CRON_USER, CRON_JOBS_PASSWORD: CRON_PASSWORD });
    expect((await route.GET(cronRequest(dryRun))).status).toBe(401);
    expect((await route.GET(cronRequest(dryRun, { headers: basic() }))).status).toBe(200);
  });

  test.each(['PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const)('%s answers 405 with Allow: GET, POST', async (method) => {
    const response = await route[method]();
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST');
    expect(await readJson(response)).toEqual({ error: 'Method not allowed' });
  });

  test('answers 503 with the job id when the database cannot be reached', async () => {
    const unreachable = await connect({ url: 'postgres://postgres@127.0.0.1:1/nowhere', maxConnections: 1 });
    setDatabase(unreachable);
    try {
      const response = await route.GET(cronRequest(path));
      expect(response.status).toBe(503);
      expect(await readJson(response)).toEqual({ error: 'Database unavailable', jobId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    } finally {
      await unreachable.close();
    }
  });

  test('answers a generic 500 with the job id, and the detail only in the log, on any other failure', async () => {
    // A database without the schema: the job fails on SQL, which must not reach the caller.
    const empty = await connect({ dataDir: null });
    setDatabase(empty);
    try {
      const response = await route.GET(cronRequest(path));
      expect(response.status).toBe(500);
      const body = await readJson(response);
      expect(body).toEqual({ error: 'Internal error', jobId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expect(JSON.stringify(body)).not.toMatch(/relation|job_runs|stack|at /);
    } finally {
      await empty.close();
    }
  });
});

test('the health route has the same 405s', async () => {
  for (const method of ['PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const) {
    const response = await healthRoute[method]();
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST');
  }
});
