import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { adminAudit, jobRuns } from '@/lib/server/db/schema';
import { adminVoidJobRun } from '@/lib/server/usecases/admin-void-job-run';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { voidJobRun } from '@/lib/server/usecases/void-job-run';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeAdmin, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf, ledgerOf } from '@tests/helpers/queries';

// The grant job walks every user: each scenario starts from an empty database.
const t = setupTestDatabase({ emptyBeforeEach: true });
const auditOf = (key: string) => t.db.select().from(adminAudit).where(eq(adminAudit.idempotencyKey, key));

describe('adminVoidJobRun', () => {
  it('voids what the preview announced (what nobody spent), naming the admin, records it, and a second submit takes nothing more', async () => {
    const admin = await makeAdmin(t.db, { now: at('2026-02-01T00:00:00Z') });
    const user = await makeUser(t.db);
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-10T01:00:00Z') });
    await consumeCredits(t.db, {
      userId: user.id,
      amount: 20,
      reason: 'test',
      idempotencyKey: `spent-${user.id}`,
      now: at('2026-02-10T01:30:00Z'),
    });
    const preview = await voidJobRun(t.db, { jobRunId: run.jobId, dryRun: true, now: at('2026-02-10T02:00:00Z') });
    expect(preview).toMatchObject({ ok: true, results: { voidedAmount: 30 + 50 } }); // the admin's free month too
    const key = randomUUID();
    const params = {
      adminUserId: admin.id,
      jobRunId: run.jobId,
      reason: 'wrong free amount',
      idempotencyKey: key,
      now: at('2026-02-10T02:00:00Z'),
    };

    const result = await adminVoidJobRun(t.db, params);

    expect(result).toMatchObject({
      ok: true,
      job: 'grant',
      replayed: false,
      alreadyVoided: false,
      results: { batches: 2, users: 2, voidedAmount: 80 },
    });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    const voidEntry = (await ledgerOf(t.db, user.id)).find((e) => e.kind === 'void');
    expect(voidEntry!.metadata).toMatchObject({ voidedJobRunId: run.jobId, reason: 'wrong free amount', actor: `admin:${admin.email}` });
    const [row] = await auditOf(key);
    expect(row).toMatchObject({ action: 'void_job_run', targetJobRunId: run.jobId, outcome: { ok: true, results: { voidedAmount: 80 } } });

    expect(await adminVoidJobRun(t.db, params)).toMatchObject({ ok: true, replayed: true, results: { voidedAmount: 80 } });
    // Another form (another key) voiding the same run again takes nothing more.
    expect(await adminVoidJobRun(t.db, { ...params, idempotencyKey: randomUUID() })).toMatchObject({
      ok: true,
      results: { voidedAmount: 80 },
    });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    expect(await auditOf(key)).toHaveLength(1);
    await expectInvariants(t.db);
  });

  it('a running run is refused (run_in_progress), nothing is taken, and the refusal is recorded', async () => {
    const admin = await makeAdmin(t.db);
    const user = await makeUser(t.db);
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-10T01:00:00Z') });
    // As if the run were still working (its process alive, a few minutes in).
    await t.db
      .update(jobRuns)
      .set({ status: 'running', finishedAt: null, startedAt: at('2026-02-10T01:58:00Z') })
      .where(eq(jobRuns.id, run.jobId));
    const key = randomUUID();

    const result = await adminVoidJobRun(t.db, {
      adminUserId: admin.id,
      jobRunId: run.jobId,
      reason: 'oops',
      idempotencyKey: key,
      now: at('2026-02-10T02:00:00Z'),
    });

    expect(result).toMatchObject({ ok: false, reason: 'run_in_progress' });
    expect(await balanceOf(t.db, user.id)).toBe(50);
    expect((await auditOf(key))[0]!.outcome).toMatchObject({ ok: false, reason: 'run_in_progress' });
    await expectInvariants(t.db);
  });

  it('an unknown run is refused and recorded; a non-admin is refused with nothing written', async () => {
    const admin = await makeAdmin(t.db);
    const notAdmin = await makeUser(t.db);
    const unknownKey = randomUUID();
    const missing = randomUUID();

    expect(
      await adminVoidJobRun(t.db, { adminUserId: admin.id, jobRunId: missing, reason: 'x', idempotencyKey: unknownKey }),
    ).toMatchObject({
      ok: false,
      reason: 'not_found',
    });
    expect((await auditOf(unknownKey))[0]).toMatchObject({ targetJobRunId: missing, outcome: { ok: false, reason: 'not_found' } });
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-10T01:00:00Z') });
    const key = randomUUID();
    expect(await adminVoidJobRun(t.db, { adminUserId: notAdmin.id, jobRunId: run.jobId, reason: 'x', idempotencyKey: key })).toMatchObject({
      ok: false,
      reason: 'not_admin',
    });
    expect(await auditOf(key)).toEqual([]);
    expect(await balanceOf(t.db, notAdmin.id)).toBe(50);
    await expectInvariants(t.db);
  });
});
