import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { adminAudit, creditBatches, jobRuns } from '@/lib/server/db/schema';
import { adminRunJob } from '@/lib/server/usecases/admin-run-job';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeAdmin, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';

const t = setupTestDatabase({ emptyBeforeEach: true });
const now = at('2026-02-10T09:00:00Z');
const budget = { timeBudgetMs: 20_000, chunkSize: 1_000 };
const auditOf = (key: string) => t.db.select().from(adminAudit).where(eq(adminAudit.idempotencyKey, key));
const runOf = async (id: string) => (await t.db.select().from(jobRuns).where(eq(jobRuns.id, id)))[0]!;

describe('adminRunJob', () => {
  it('runs a job now through the registry (trigger admin), answers as its route would, and records it once per form', async () => {
    const admin = await makeAdmin(t.db);
    await makeUser(t.db);
    const key = randomUUID();
    const params = { adminUserId: admin.id, job: 'grant' as const, dryRun: false, idempotencyKey: key, now, ...budget };

    const result = await adminRunJob(t.db, params);

    expect(result).toMatchObject({
      ok: true,
      job: 'grant',
      dryRun: false,
      hasMore: false,
      answer: { success: true, results: { successful: 2 } },
    });
    const jobRunId = (result as { jobRunId: string }).jobRunId;
    expect(await runOf(jobRunId)).toMatchObject({ trigger: 'admin', status: 'succeeded', dryRun: false });
    expect((await auditOf(key))[0]).toMatchObject({
      action: 'run_job',
      params: { job: 'grant', dryRun: false },
      outcome: { ok: true, jobRunId },
    });

    // The same form again: the recorded outcome, no second run.
    expect(await adminRunJob(t.db, params)).toMatchObject({ ok: true, replayed: true, jobRunId });
    expect(await t.db.select().from(jobRuns)).toHaveLength(1);
    await expectInvariants(t.db);
  });

  it('two submits of the same form at once start one run: the other is told it is in progress, or replays it', async () => {
    const admin = await makeAdmin(t.db);
    await makeUser(t.db);
    const params = { adminUserId: admin.id, job: 'grant' as const, dryRun: false, idempotencyKey: randomUUID(), now, ...budget };

    const answers = await Promise.all([adminRunJob(t.db, params), adminRunJob(t.db, params)]);

    expect(answers.filter((a) => a.ok && !a.replayed)).toHaveLength(1);
    expect(answers.filter((a) => !a.ok)).toEqual(
      answers.filter((a) => !a.ok).map(() => expect.objectContaining({ reason: 'in_progress' })),
    );
    expect(await t.db.select().from(jobRuns)).toHaveLength(1);
    await expectInvariants(t.db);
  });

  it('a dry run shows what would happen and writes only its job-run row', async () => {
    const admin = await makeAdmin(t.db);
    await makeUser(t.db);

    const result = await adminRunJob(t.db, {
      adminUserId: admin.id,
      job: 'grant',
      dryRun: true,
      idempotencyKey: randomUUID(),
      now,
      ...budget,
    });

    expect(result).toMatchObject({ ok: true, dryRun: true, answer: { results: { successful: 2 } } });
    expect(await runOf((result as { jobRunId: string }).jobRunId)).toMatchObject({ dryRun: true, trigger: 'admin' });
    expect(await t.db.select().from(creditBatches)).toEqual([]);
    await expectInvariants(t.db);
  });

  it('continues a run that answered hasMore from where it stopped, once', async () => {
    const admin = await makeAdmin(t.db, { id: 'user-a' });
    await makeUser(t.db, { id: 'user-b' });
    const first = await grantMonthlyCredits(t.db, { trigger: 'test', limit: 1, now });
    expect(first.hasMore).toBe(true);

    const result = await adminRunJob(t.db, {
      adminUserId: admin.id,
      continueRunId: first.jobId,
      idempotencyKey: randomUUID(),
      now,
      ...budget,
    });

    expect(result).toMatchObject({ ok: true, job: 'grant', hasMore: false, answer: { results: { successful: 1 } } });
    const second = await runOf((result as { jobRunId: string }).jobRunId);
    // The same query as the run it continues (limit 1), from its cursor: user-b this time.
    expect(second.params).toMatchObject({ limit: 1 });
    expect((await t.db.select().from(creditBatches).where(eq(creditBatches.jobRunId, second.id))).map((b) => b.userId)).toEqual(['user-b']);

    expect(
      await adminRunJob(t.db, { adminUserId: admin.id, continueRunId: first.jobId, idempotencyKey: randomUUID(), now, ...budget }),
    ).toMatchObject({
      ok: false,
      reason: 'already_continued',
    });
    await expectInvariants(t.db);
  });

  it('refuses to continue a run with nothing left, or an unknown run, and to start a job that is running', async () => {
    const admin = await makeAdmin(t.db);
    const done = await grantMonthlyCredits(t.db, { trigger: 'test', now });
    const call = (extra: object) =>
      adminRunJob(t.db, { adminUserId: admin.id, idempotencyKey: randomUUID(), now, ...budget, ...extra } as never);

    expect(await call({ continueRunId: done.jobId })).toMatchObject({ ok: false, reason: 'nothing_to_continue' });
    expect(await call({ continueRunId: randomUUID() })).toMatchObject({ ok: false, reason: 'not_found' });
    expect(await call({ continueRunId: 'not-a-uuid' })).toMatchObject({ ok: false, reason: 'not_found' });
    await t.db
      .update(jobRuns)
      .set({ status: 'running', startedAt: at('2026-02-10T08:55:00Z') })
      .where(eq(jobRuns.id, done.jobId));
    const key = randomUUID();
    expect(await call({ job: 'grant', dryRun: false, idempotencyKey: key })).toMatchObject({
      ok: false,
      reason: 'job_running',
      runningRunId: done.jobId,
    });
    expect((await auditOf(key))[0]!.outcome).toMatchObject({ ok: false, reason: 'job_running' });
    expect(await t.db.select().from(jobRuns)).toHaveLength(1);
    await expectInvariants(t.db);
  });

  it('a non-admin is refused: no run, no audit row', async () => {
    const user = await makeUser(t.db);
    const key = randomUUID();
    expect(
      await adminRunJob(t.db, { adminUserId: user.id, job: 'expire', dryRun: false, idempotencyKey: key, now, ...budget }),
    ).toMatchObject({
      ok: false,
      reason: 'not_admin',
    });
    expect(await t.db.select().from(jobRuns)).toEqual([]);
    expect(await auditOf(key)).toEqual([]);
    await expectInvariants(t.db);
  });
});
