import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { setDatabase } from '@/lib/server/db';
import { connect } from '@/lib/server/db/client';
import { queryRows } from '@/lib/server/db/sql';
import { GET as grantRoute } from '@/app/api/jobs/credits/grant/route';
import { setupTestDatabase, testServerUrl } from '@tests/helpers/db';
import { expectInvariants } from '@tests/helpers/invariants';
import { cronRequest, jobRun, setCronEnv } from '@tests/helpers/cron';
import { seedReliabilityData, type ReliabilitySeed } from './fixtures/seed';
import { requireRealServer } from './helpers';

beforeAll(() => requireRealServer());
const t = setupTestDatabase({ routes: true });
let seed: ReliabilitySeed;
beforeAll(async () => {
  setCronEnv();
  process.env.CREDITS_CHUNK_SIZE = '50'; // many small chunks: the outage lands mid-run
  seed = await seedReliabilityData(t.db, { users: 20_000, now: new Date() });
});
afterAll(() => {
  delete process.env.CREDITS_CHUNK_SIZE;
});

describe('the database goes away during a run', () => {
  it('mid-run: the route answers 503 JSON, the chunks committed before it are kept, the run is recorded as failed once the database is back, and the next runs grant exactly the rest', async () => {
    const admin = postgres(testServerUrl!, { max: 1, onnotice: () => {} });
    const database = new URL(t.url!).pathname.slice(1);
    const pending = grantRoute(cronRequest('/api/jobs/credits/grant'));
    // Wait until the run has committed some of its own grants (the seed's batches belong to no run),
    // then take the database away: no new connections, and every existing one terminated, a few
    // times over so that a query in flight is hit.
    const grantedByRuns = async () =>
      (await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from credit_batches where job_run_id is not null`))[0]!.n;
    for (let i = 0; i < 2_000 && (await grantedByRuns()) < 200; i++) await new Promise((r) => setTimeout(r, 5));
    await admin.unsafe(`alter database "${database}" allow_connections false`);
    let terminated = 0;
    for (let i = 0; i < 20; i++) {
      const [row] =
        await admin`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = ${database} and pid <> pg_backend_pid()`;
      terminated += row!.n;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(terminated).toBeGreaterThan(0);

    const response = await pending;
    expect(response.status).toBe(503);
    const body = await response.json();
    expect(body).toEqual({ error: 'Database unavailable', jobId: expect.any(String) });
    const owed = seed.free + seed.monthly;

    // While it is down, another call is refused the same way.
    const whileDown = await grantRoute(cronRequest('/api/jobs/credits/grant'));
    expect(whileDown.status).toBe(503);

    // The database is back: the next run records the failures it could not write, and finishes the work.
    await admin.unsafe(`alter database "${database}" allow_connections true`);
    await admin.end();
    await expectInvariants(t.db);
    // The outage hit mid-run: the chunks committed before it are kept whole, the rest was not written.
    const [kept] = await queryRows<{ n: number }>(
      t.db,
      sql`select count(*)::int as n from credit_batches where job_run_id = ${body.jobId}::uuid`,
    );
    console.log(`[outage] ${kept!.n} of ${owed} grants committed before the outage`);
    expect(kept!.n).toBeGreaterThan(0);
    expect(kept!.n).toBeLessThan(owed);
    // As a scheduler does: call again while the answer says there is more. The reruns grant exactly
    // what the interrupted run had not, and skip what it had.
    let successful = 0;
    for (let calls = 1, hasMore = true; hasMore; calls++) {
      expect(calls).toBeLessThan(20);
      const next = await grantRoute(cronRequest('/api/jobs/credits/grant'));
      expect(next.status).toBe(200);
      const answer = await next.json();
      successful += answer.results.successful;
      hasMore = answer.hasMore;
    }
    expect(successful).toBe(owed - kept!.n);
    expect(await jobRun(t.db, body.jobId)).toMatchObject({ status: 'failed', error: expect.any(String), finishedAt: expect.any(Date) });
    const [row] = await queryRows<{ n: number; dup: number }>(
      t.db,
      sql`select count(*)::int as n, (select count(*) from (select idempotency_key from credit_batches group by 1 having count(*) > 1) d)::int as dup
            from credit_batches where source in ('free', 'subscription')`,
    );
    expect(row).toEqual({ n: owed, dup: 0 });
    await expectInvariants(t.db);
  });

  it('a database that cannot be reached at all gives 503 JSON with a job id', async () => {
    const unreachable = await connect({ url: 'postgres://postgres@127.0.0.1:1/nowhere', maxConnections: 1 });
    setDatabase(unreachable);
    try {
      const response = await grantRoute(cronRequest('/api/jobs/credits/grant'));
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: 'Database unavailable', jobId: expect.any(String) });
    } finally {
      setDatabase(t);
      await unreachable.close();
    }
  });
});
