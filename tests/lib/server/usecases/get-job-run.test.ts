import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { getJobRun } from '@/lib/server/usecases/get-job-run';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { voidJobRun } from '@/lib/server/usecases/void-job-run';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';

const t = setupTestDatabase({ emptyBeforeEach: true });

describe('getJobRun', () => {
  it('a grant run: its params, results, the entries it wrote (counted, sampled) and what was voided of it', async () => {
    const a = await makeUser(t.db);
    const b = await makeUser(t.db);
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-10T01:00:00Z') });
    await voidJobRun(t.db, { jobRunId: run.jobId, reason: 'test', now: at('2026-02-10T02:00:00Z') });

    const details = await getJobRun(t.db, { jobRunId: run.jobId, now: at('2026-02-10T03:00:00Z') });

    expect(details!.run).toMatchObject({
      id: run.jobId,
      job: 'grant',
      status: 'succeeded',
      params: { date: '2026-02-10' },
      results: { successful: 2 },
    });
    expect(details!.entries).toMatchObject({ count: 2, credits: 100 });
    expect(details!.entries.sample.map((e) => [e.userId, e.kind, e.delta]).sort()).toEqual(
      [
        [a.id, 'grant', 50],
        [b.id, 'grant', 50],
      ].sort(),
    );
    expect(details!.voided).toEqual({ entries: 2, users: 2, credits: 100 });
    await expectInvariants(t.db);
  });

  it('an expire run: the expire entries it wrote', async () => {
    const user = await makeUser(t.db);
    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-10T01:00:00Z') });
    const run = await expireCredits(t.db, { trigger: 'test', now: at('2026-03-01T04:00:00Z') });

    const details = await getJobRun(t.db, { jobRunId: run.jobId });

    expect(details!.entries).toMatchObject({ count: 1, credits: -50 });
    expect(details!.entries.sample[0]).toMatchObject({ userId: user.id, kind: 'expire', delta: -50 });
    await expectInvariants(t.db);
  });

  it('an unknown or malformed id is null', async () => {
    expect(await getJobRun(t.db, { jobRunId: randomUUID() })).toBeNull();
    expect(await getJobRun(t.db, { jobRunId: 'nope' })).toBeNull();
  });
});
