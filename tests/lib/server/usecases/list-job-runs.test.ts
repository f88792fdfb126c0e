import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { jobRuns } from '@/lib/server/db/schema';
import { listJobRuns } from '@/lib/server/usecases/list-job-runs';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';

const t = setupTestDatabase({ emptyBeforeEach: true });

describe('listJobRuns', () => {
  it('lists runs newest first, filtered by job and status, a page at a time, with duration and staleness', async () => {
    await makeUser(t.db);
    const grant1 = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-10T01:00:00Z') });
    const expire = await expireCredits(t.db, { trigger: 'test', now: at('2026-02-10T04:00:00Z') });
    const grant2 = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-11T01:00:00Z') });
    // Started times are the wall clock: set them apart so the order is certain, and leave one "running" long ago.
    await t.db
      .update(jobRuns)
      .set({ startedAt: at('2026-02-10T01:00:00Z'), finishedAt: at('2026-02-10T01:00:02Z') })
      .where(eq(jobRuns.id, grant1.jobId));
    await t.db
      .update(jobRuns)
      .set({ startedAt: at('2026-02-10T04:00:00Z'), status: 'running', finishedAt: null })
      .where(eq(jobRuns.id, expire.jobId));
    await t.db
      .update(jobRuns)
      .set({ startedAt: at('2026-02-11T01:00:00Z') })
      .where(eq(jobRuns.id, grant2.jobId));
    const now = at('2026-02-11T09:00:00Z');

    const all = await listJobRuns(t.db, { now });
    expect(all.runs.map((r) => r.id)).toEqual([grant2.jobId, expire.jobId, grant1.jobId]);
    expect(all.runs[1]).toMatchObject({ status: 'running', stale: true, durationMs: null });
    expect(all.runs[2]).toMatchObject({ durationMs: 2_000, stale: false });

    expect((await listJobRuns(t.db, { job: 'grant', now })).runs.map((r) => r.id)).toEqual([grant2.jobId, grant1.jobId]);
    expect((await listJobRuns(t.db, { status: 'running', now })).runs.map((r) => r.id)).toEqual([expire.jobId]);
    const first = await listJobRuns(t.db, { pageSize: 2, now });
    const second = await listJobRuns(t.db, { pageSize: 2, page: 2, now });
    expect([first.hasNextPage, second.hasNextPage]).toEqual([true, false]);
    expect(second.runs.map((r) => r.id)).toEqual([grant1.jobId]);
    await expectInvariants(t.db);
  });
});
