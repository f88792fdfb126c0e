import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { sql } from 'drizzle-orm';
import { parseEnv, resetEnvCache } from '@/env';
import { jobRuns } from '@/lib/server/db/schema';
import { queryRows } from '@/lib/server/db/sql';
import { withCronAuth } from '@/lib/server/http/cron-auth';
import {
  CHAIN_HEADER,
  CONTINUATION_HEADER,
  continuationTarget,
  readChainLink,
  runContinuable,
  type ContinuationTransport,
} from '@/lib/server/http/continuation';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { setupTestDatabase, emptyCreditsTables } from '@tests/helpers/db';
import { makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { CRON_SECRET, bearer, setCronEnv } from '@tests/helpers/cron';

describe('where a continuation goes: never where the caller says', () => {
  const base = parseEnv({});
  const config = (vars: Record<string, string> = {}) => ({ ...base, ...parseEnv(vars) });

  test.each([
    [
      'a configured URL wins, path dropped',
      { CRON_CONTINUATION_URL: 'https://jobs.example.com/some/path' },
      'http://evil.example/api/x',
      'https://jobs.example.com',
    ],
    [
      'Vercel production: the project production domain',
      { VERCEL_ENV: 'production', VERCEL_PROJECT_PRODUCTION_URL: 'app.example.com' },
      'https://evil.example/api/x',
      'https://app.example.com',
    ],
    ['the request, when it is this server on loopback', { PORT: '3200' }, 'http://127.0.0.1:3200/api/x', 'http://127.0.0.1:3200'],
    ['localhost on this port', { PORT: '3200' }, 'http://localhost:3200/api/x', 'http://localhost:3200'],
    ['IPv6 loopback on this port', { PORT: '3200' }, 'http://[::1]:3200/api/x', 'http://[::1]:3200'],
    ['a forged Host: this server instead', { PORT: '3200' }, 'http://evil.example/api/x', 'http://127.0.0.1:3200'],
    [
      'a forged loopback Host on another port: this server instead',
      { PORT: '3200' },
      'http://127.0.0.1:9999/api/x',
      'http://127.0.0.1:3200',
    ],
    ['a look-alike host: this server instead', { PORT: '80' }, 'http://127.0.0.1.evil.example/api/x', 'http://127.0.0.1:80'],
    ['localhost as a subdomain: this server instead', { PORT: '80' }, 'http://localhost.evil.example/api/x', 'http://127.0.0.1:80'],
  ])('%s', (_name, vars, requestUrl, origin) => {
    expect(continuationTarget(config(vars), requestUrl)).toMatchObject({ ok: true, origin });
  });

  test.each([
    [
      'a Vercel preview (its production domain would be production)',
      { VERCEL_ENV: 'preview', VERCEL_PROJECT_PRODUCTION_URL: 'app.example.com' },
    ],
    ['Vercel production without a production domain', { VERCEL_ENV: 'production' }],
  ])('none on %s', (_name, vars) => {
    expect(continuationTarget(config(vars), 'https://app.example.com/api/x')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('CRON_CONTINUATION_URL'),
    });
  });

  test('CRON_CONTINUATION_URL must be http(s); CRON_MAX_CONTINUATIONS a whole number from 0', () => {
    expect(() => parseEnv({ CRON_CONTINUATION_URL: 'ftp://example.com' })).toThrow(/CRON_CONTINUATION_URL/);
    expect(() => parseEnv({ CRON_MAX_CONTINUATIONS: '-1' })).toThrow(/CRON_MAX_CONTINUATIONS/);
    expect(parseEnv({}).CRON_MAX_CONTINUATIONS).toBe(50);
  });
});

describe('the chain header', () => {
  const id = '0664bf09-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
  test.each([
    [null, { ok: true, link: null }],
    [`${id}/1`, { ok: true, link: { firstRunId: id, position: 1 } }],
    [`${id}/50`, { ok: true, link: { firstRunId: id, position: 50 } }],
    [`${id}/0`, { ok: false }],
    [`${id}/-1`, { ok: false }],
    [`${id}/1.5`, { ok: false }],
    [`${id}`, { ok: false }],
    [`not-a-uuid-at-all-but-36-characters/1`, { ok: false }],
    [`${id}/1/2`, { ok: false }],
  ])('%s', (value, expected) => {
    const headers = new Headers(value === null ? {} : { [CHAIN_HEADER]: value });
    expect(readChainLink(headers)).toMatchObject(expected);
  });
});

// A chain over the real grant usecase on the test database: the route's shape, with a transport that
// runs "after the response" tasks once the handler has answered and sends each continuation to the
// same handler in-process. (The end-to-end suite does the same over HTTP with Next's `after()`.)
describe('a call that ends with hasMore continues itself, as one recorded chain', () => {
  const t = setupTestDatabase({ routes: true });
  const USERS = 9;
  const CHUNK = 2;
  let sent: { url: string; headers: Headers; method: string }[];
  let queue: (() => Promise<void>)[];
  let answer: ((req: Request) => Promise<Response>) | null;

  const handler = (options: { continuable?: boolean; fail?: (position: number) => boolean; progressed?: boolean } = {}) =>
    withCronAuth(({ req, trigger, jobId }) =>
      runContinuable(
        { req, jobId, job: 'grant', continuable: options.continuable ?? true, maxDurationSeconds: 60 },
        async () => {
          const position = Number(req.headers.get(CHAIN_HEADER)?.split('/')[1] ?? 0);
          if (options.fail?.(position)) throw new Error(`link ${position} fails`);
          const run = await grantMonthlyCredits(t.db, { trigger, jobId, timeBudgetMs: 1, chunkSize: CHUNK });
          return {
            body: { jobId: run.jobId, results: run.results, hasMore: run.hasMore },
            hasMore: run.hasMore,
            progressed: options.progressed,
          };
        },
        transport,
      ),
    );

  const transport: ContinuationTransport = {
    schedule: (task) => void queue.push(task),
    fetch: async (input, init) => {
      const req = new Request(input as string, init);
      sent.push({ url: req.url, headers: req.headers, method: req.method });
      return answer ? answer(req) : new Response('nobody there', { status: 502 });
    },
  };

  /** One external call, then every "after the response" task, as Next runs them. */
  async function callOnce(route: (req: Request) => Promise<Response>, url = 'http://evil.example/api/jobs/credits/grant') {
    answer = route;
    const response = await route(new Request(url, { headers: { ...bearer(), 'user-agent': 'vercel-cron/1.0' } }));
    for (let task = queue.shift(); task; task = queue.shift()) await task();
    return response;
  }

  const chainOf = (firstRunId: string) =>
    queryRows<{ id: string; position: number; outcome: string; has_more: boolean; status: string; trigger: string }>(
      t.db,
      sql`select id, (params->'chain'->>'position')::int as position, params->'chain'->>'outcome' as outcome, has_more, status, trigger
            from job_runs where params->'chain'->>'firstRunId' = ${firstRunId} order by 2`,
    );

  beforeEach(async () => {
    setCronEnv();
    process.env.PORT = '3200';
    resetEnvCache();
    sent = [];
    queue = [];
    answer = null;
    await emptyCreditsTables(t.db);
    for (let i = 0; i < USERS; i++) await makeUser(t.db, { id: `chain-user-${i}` });
  });
  afterEach(() => {
    delete process.env.PORT;
    delete process.env.CRON_MAX_CONTINUATIONS;
    resetEnvCache();
    vi.restoreAllMocks();
  });

  test('one external call grants everyone once; every link is a job run naming the first and its position', async () => {
    const first = await callOnce(handler());
    expect(first.headers.get(CONTINUATION_HEADER)).toBe('scheduled');
    const body = await first.json();
    expect(body.hasMore).toBe(true);

    const links = Math.ceil(USERS / CHUNK);
    const chain = await chainOf(body.jobId);
    expect(chain.map((r) => r.position)).toEqual([...Array(links).keys()]);
    expect(chain[0]!.id).toBe(body.jobId);
    expect(chain.map((r) => r.outcome)).toEqual([...Array(links - 1).fill('continued'), 'finished']);
    expect(chain.map((r) => r.has_more)).toEqual([...Array(links - 1).fill(true), false]);
    expect(new Set(chain.map((r) => r.trigger))).toEqual(new Set(['vercel-cron']));
    expect(await t.db.select().from(jobRuns)).toHaveLength(links);

    // Sent to this server (not the forged host), with the caller's credentials and the chain position.
    expect(sent.map((s) => new URL(s.url).origin)).toEqual(Array(links - 1).fill('http://127.0.0.1:3200'));
    expect(sent.map((s) => s.headers.get('authorization'))).toEqual(Array(links - 1).fill(`Bearer ${CRON_SECRET}`));
    expect(sent.map((s) => s.headers.get(CHAIN_HEADER))).toEqual(chain.slice(1).map((r) => `${body.jobId}/${r.position}`));

    const [row] = await queryRows<{ n: number; keys: number }>(
      t.db,
      sql`select count(*)::int as n, count(distinct idempotency_key)::int as keys from credit_batches where source = 'free'`,
    );
    expect(row).toEqual({ n: USERS, keys: USERS });
    await expectInvariants(t.db);
  });

  test('the chain stops at CRON_MAX_CONTINUATIONS, says so loudly, and the last run keeps hasMore', async () => {
    process.env.CRON_MAX_CONTINUATIONS = '2';
    resetEnvCache();
    const errors = vi.spyOn(console, 'error');
    const body = await (await callOnce(handler())).json();
    const chain = await chainOf(body.jobId);
    expect(chain.map((r) => [r.position, r.outcome, r.has_more])).toEqual([
      [0, 'continued', true],
      [1, 'continued', true],
      [2, 'stopped-at-bound', true],
    ]);
    expect(errors.mock.calls.flat().join('\n')).toMatch(/STOPPED at the bound of 2 continuations/);
    expect(sent).toHaveLength(2);
  });

  test('CRON_MAX_CONTINUATIONS=0 turns it off: hasMore is left to the scheduler', async () => {
    process.env.CRON_MAX_CONTINUATIONS = '0';
    resetEnvCache();
    const response = await callOnce(handler());
    expect(response.headers.get(CONTINUATION_HEADER)).toBe('off');
    expect(sent).toEqual([]);
    expect(await chainOf((await response.json()).jobId)).toEqual([]);
  });

  test('a call that may not continue (an explicit limit, a dry run) answers hasMore and sends nothing', async () => {
    const response = await callOnce(handler({ continuable: false }));
    expect(response.headers.get(CONTINUATION_HEADER)).toBe('none');
    expect((await response.json()).hasMore).toBe(true);
    expect(sent).toEqual([]);
  });

  test('a call that moved nothing forward is not continued (another call holds the rest, or it keeps failing)', async () => {
    const response = await callOnce(handler({ progressed: false }));
    expect(response.headers.get(CONTINUATION_HEADER)).toBe('stopped-no-progress');
    const chain = await chainOf((await response.json()).jobId);
    expect(chain.map((r) => [r.position, r.outcome, r.has_more])).toEqual([[0, 'stopped-no-progress', true]]);
    expect(sent).toEqual([]);
  });

  test('a continuation that is refused is logged and recorded on the link that sent it', async () => {
    const errors = vi.spyOn(console, 'error');
    const route = handler();
    const response = await route(new Request('http://127.0.0.1:3200/api/jobs/credits/grant', { headers: bearer() }));
    answer = async () => new Response('{"error":"Unauthorized"}', { status: 401 });
    for (let task = queue.shift(); task; task = queue.shift()) await task();
    const chain = await chainOf((await response.json()).jobId);
    expect(chain.map((r) => [r.position, r.outcome])).toEqual([[0, 'continuation-failed']]);
    expect(errors.mock.calls.flat().join('\n')).toMatch(/continuation link 1 answered 401/);
  });

  test('a link that fails ends the chain; the link before it records that its continuation failed', async () => {
    const errors = vi.spyOn(console, 'error');
    const body = await (await callOnce(handler({ fail: (position) => position === 2 }))).json();
    const chain = await chainOf(body.jobId);
    expect(chain.map((r) => [r.position, r.outcome, r.status])).toEqual([
      [0, 'continued', 'succeeded'],
      [1, 'continuation-failed', 'succeeded'],
    ]);
    // Link 2 answered the generic 500 and scheduled nothing: the chain ends there, loudly.
    expect(sent).toHaveLength(2);
    expect(queue).toEqual([]);
    expect(errors.mock.calls.flat().join('\n')).toMatch(/link 2 .*failed; the chain stops here/);
    expect(errors.mock.calls.flat().join('\n')).toMatch(/continuation link 2 answered 500/);
  });

  test('a malformed chain header is refused before any work', async () => {
    const response = await handler()(
      new Request('http://127.0.0.1:3200/api/jobs/credits/grant', { headers: { ...bearer(), [CHAIN_HEADER]: 'x/1' } }),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'Invalid continuation header' });
    expect(await t.db.select().from(jobRuns)).toEqual([]);
  });
});
