import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { creditBalances, creditBatches, creditLedger, creditSchedules, creditTakeBacks } from '@/lib/server/db/schema';
import { voidJobRun } from '@/lib/server/usecases/void-job-run';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { processDueSchedules } from '@/lib/server/usecases/process-due-schedules';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { captureCredits } from '@/lib/server/usecases/capture-credits';
import { releaseCredits } from '@/lib/server/usecases/release-credits';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeSubscription, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceRowOf } from '@tests/helpers/holds';
import { balanceOf, batchesOf } from '@tests/helpers/queries';

// The jobs walk every user: each scenario starts from an empty database, so its counts are exact.
const t = setupTestDatabase({ emptyBeforeEach: true });

describe('voidJobRun', () => {
  it('a dry run reports what a void would take (what nobody has spent) and writes nothing', async () => {
    const user = await makeUser(t.db);
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-10T01:00:00Z') });
    await consumeCredits(t.db, {
      userId: user.id,
      amount: 20,
      reason: 'test',
      idempotencyKey: `spent-${user.id}`,
      now: at('2026-02-10T01:30:00Z'),
    });

    const dry = await voidJobRun(t.db, { jobRunId: run.jobId, dryRun: true, now: at('2026-02-10T02:00:00Z') });

    expect(dry).toMatchObject({ ok: true, dryRun: true, job: 'grant', results: { batches: 1, users: 1, voidedAmount: 50 - 20 } });
    expect(await balanceOf(t.db, user.id)).toBe(30);
    expect(await t.db.select().from(creditLedger).where(eq(creditLedger.kind, 'void'))).toEqual([]);
  });

  it('leaves credits held by a hold to the hold: a void takes only what is neither spent nor held', async () => {
    const user = await makeUser(t.db);
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-10T01:00:00Z') });
    const holdKey = `held-${user.id}`;
    expect(await reserveCredits(t.db, { userId: user.id, amount: 20, key: holdKey, now: at('2026-02-10T01:30:00Z') })).toMatchObject({
      ok: true,
    });

    const voided = await voidJobRun(t.db, { jobRunId: run.jobId, now: at('2026-02-10T01:31:00Z') });

    expect(voided).toMatchObject({ ok: true, results: { batches: 1, voidedAmount: 30 } });
    expect(await captureCredits(t.db, { holdKey, now: at('2026-02-10T01:32:00Z') })).toMatchObject({ ok: true, captured: 20 });
    expect(await balanceRowOf(t.db, user.id)).toMatchObject({ balance: 0, held: 0, totalConsumed: 50 });
    await expectInvariants(t.db);
  });

  it('takes back the credits a hold had when the hold is released: release +20, then void −20 under the release key, counted by the void', async () => {
    const user = await makeUser(t.db);
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-10T01:00:00Z') });
    const holdKey = `released-${user.id}`;
    await reserveCredits(t.db, { userId: user.id, amount: 20, key: holdKey, now: at('2026-02-10T01:30:00Z') });
    expect(await voidJobRun(t.db, { jobRunId: run.jobId, now: at('2026-02-10T01:31:00Z') })).toMatchObject({
      ok: true,
      results: { voidedAmount: 30 },
    });
    // A second void finds nothing more to take or to owe.
    expect(await voidJobRun(t.db, { jobRunId: run.jobId, now: at('2026-02-10T01:31:30Z') })).toMatchObject({
      ok: true,
      replayed: true,
    });

    expect(await releaseCredits(t.db, { holdKey, now: at('2026-02-10T01:32:00Z') })).toMatchObject({ ok: true, released: 20 });

    const entries = await t.db
      .select()
      .from(creditLedger)
      .where(eq(creditLedger.operationKey, `release:${holdKey}`))
      .orderBy(creditLedger.id);
    expect(entries.map((e) => [e.kind, e.delta])).toEqual([
      ['release', 20],
      ['void', -20],
    ]);
    expect(await balanceRowOf(t.db, user.id)).toMatchObject({ balance: 0, held: 0, totalConsumed: 50 });
    expect(await voidJobRun(t.db, { jobRunId: run.jobId, now: at('2026-02-10T01:33:00Z') })).toMatchObject({
      results: { voidedAmount: 50 },
    });
    await expectInvariants(t.db);
  });

  it('a partial capture keeps its part spent; the rest the hold gives back goes to the void', async () => {
    const user = await makeUser(t.db);
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-10T01:00:00Z') });
    const holdKey = `partial-${user.id}`;
    await reserveCredits(t.db, { userId: user.id, amount: 20, key: holdKey, now: at('2026-02-10T01:30:00Z') });
    await voidJobRun(t.db, { jobRunId: run.jobId, now: at('2026-02-10T01:31:00Z') });
    expect(await captureCredits(t.db, { holdKey, amount: 5, now: at('2026-02-10T01:32:00Z') })).toMatchObject({ ok: true, released: 15 });
    expect(await balanceRowOf(t.db, user.id)).toMatchObject({ balance: 0, held: 0, totalConsumed: 50 });
    expect(await t.db.select().from(creditTakeBacks)).toMatchObject([{ kind: 'void', amount: 20, pending: 0 }]);
    await expectInvariants(t.db);
  });

  it('voids installments without rewinding the schedule: the job does not grant them again', async () => {
    const user = await makeUser(t.db);
    const { schedule } = await makeSubscription(t.db, { userId: user.id, planId: 'pro-yearly', now: at('2026-01-05T00:00:00Z') });
    const run = await processDueSchedules(t.db, { trigger: 'test', now: at('2026-03-06T00:00:00Z') });
    expect(run.processed).toBe(2);

    const voided = await voidJobRun(t.db, {
      jobRunId: run.jobId,
      reason: 'double billing',
      actor: 'test',
      now: at('2026-03-06T01:00:00Z'),
    });

    expect(voided).toMatchObject({ ok: true, job: 'subscription-grants', results: { batches: 2, users: 1, voidedAmount: 2 * 833 } });
    const [after] = await t.db.select().from(creditSchedules).where(eq(creditSchedules.id, schedule!.id));
    expect(after).toMatchObject({ installmentsDone: 3, creditsGranted: 3 * 833 });
    const again = await processDueSchedules(t.db, { trigger: 'test', now: at('2026-03-06T02:00:00Z') });
    expect(again.processed).toBe(0);
    const [balance] = await t.db.select().from(creditBalances).where(eq(creditBalances.userId, user.id));
    expect(balance!.totalConsumed).toBe(2 * 833);
    await expectInvariants(t.db);
  });

  it('leaves credits past their expiry to the expire job, which still records them as expired', async () => {
    const user = await makeUser(t.db);
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-04-20T01:00:00Z') });
    await consumeCredits(t.db, {
      userId: user.id,
      amount: 20,
      reason: 'test',
      idempotencyKey: `spent-${user.id}`,
      now: at('2026-04-25T00:00:00Z'),
    });

    // The free credits of April end on May 1st: on May 2nd, before the expire job, they are not the void's to take.
    const voided = await voidJobRun(t.db, { jobRunId: run.jobId, now: at('2026-05-02T00:00:00Z') });
    expect(voided).toMatchObject({ ok: true, results: { batches: 0, voidedAmount: 0 } });

    const expired = await expireCredits(t.db, { trigger: 'test', now: at('2026-05-02T04:00:00Z') });
    expect(expired.results).toMatchObject({ processedBatches: 1, totalExpiredAmount: 30 });
    const [batch] = (await batchesOf(t.db, user.id)).filter((b) => b.jobRunId === run.jobId);
    expect(batch).toMatchObject({ remaining: 0, expiredAmount: 30 });
    await expectInvariants(t.db);
  });

  it.each([
    ['not a uuid', 'invalid_job_run_id'],
    [randomUUID(), 'not_found'],
  ])('refuses job run id %s: %s', async (jobRunId, reason) => {
    expect(await voidJobRun(t.db, { jobRunId })).toMatchObject({ ok: false, reason });
  });

  it('refuses an expire run: it granted nothing', async () => {
    const run = await expireCredits(t.db, { trigger: 'test', now: at('2026-06-01T00:00:00Z') });
    expect(await voidJobRun(t.db, { jobRunId: run.jobId })).toMatchObject({ ok: false, reason: 'not_a_grant_run' });
  });

  it('keeps the voided batch and its grant entry: nothing is deleted', async () => {
    const user = await makeUser(t.db);
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-07-03T01:00:00Z') });
    await voidJobRun(t.db, { jobRunId: run.jobId, now: at('2026-07-03T02:00:00Z') });
    const [batch] = await t.db.select().from(creditBatches).where(eq(creditBatches.userId, user.id));
    expect(batch).toMatchObject({ amount: 50, remaining: 0, expiredAt: null });
    const entries = await t.db.select().from(creditLedger).where(eq(creditLedger.batchId, batch!.id));
    expect(entries.map((e) => [e.kind, e.delta])).toEqual([
      ['grant', 50],
      ['void', -50],
    ]);
    await expectInvariants(t.db);
  });
});

describe('voidJobRun for one user', () => {
  it("voids that user's batches of the run only; the others keep theirs", async () => {
    const [a, b, c] = [await makeUser(t.db), await makeUser(t.db), await makeUser(t.db)];
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-10T01:00:00Z') });
    const now = at('2026-02-10T02:00:00Z');

    const voided = await voidJobRun(t.db, { jobRunId: run.jobId, userId: b.id, reason: 'one user', now });

    expect(voided).toMatchObject({ ok: true, dryRun: false, replayed: false, results: { batches: 1, users: 1, voidedAmount: 50 } });
    expect([await balanceOf(t.db, a.id), await balanceOf(t.db, b.id), await balanceOf(t.db, c.id)]).toEqual([50, 0, 50]);
    // The rest of the run can still be voided afterwards; the one user's void is not taken twice.
    const rest = await voidJobRun(t.db, { jobRunId: run.jobId, now });
    expect(rest).toMatchObject({ ok: true, results: { batches: 3, users: 3, voidedAmount: 150 } });
    expect(await t.db.select().from(creditLedger).where(eq(creditLedger.kind, 'void'))).toHaveLength(3);
    await expectInvariants(t.db);
  });

  it('a dry run names the batches it would take from (first N, by user), with totals over all of them, and reports progress per chunk', async () => {
    const users = [await makeUser(t.db), await makeUser(t.db), await makeUser(t.db)];
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-10T01:00:00Z') });
    const progress: number[] = [];

    const dry = await voidJobRun(t.db, {
      jobRunId: run.jobId,
      dryRun: true,
      previewSize: 2,
      chunkSize: 1,
      onChunk: (p) => progress.push(p.users),
      now: at('2026-02-10T02:00:00Z'),
    });

    expect(dry.ok && dry.results).toEqual({ batches: 3, users: 3, voidedAmount: 150 });
    const sorted = [...users].sort((x, y) => (x.id < y.id ? -1 : 1));
    expect(dry.ok && dry.preview?.map((p) => [p.userId, p.email, p.source, p.remaining])).toEqual(
      sorted.slice(0, 2).map((u) => [u.id, u.email, 'free', 50]),
    );
    expect(progress).toEqual([1, 2, 3]);
    const limited = await voidJobRun(t.db, { jobRunId: run.jobId, dryRun: true, userId: sorted[2]!.id, now: at('2026-02-10T02:00:00Z') });
    expect(limited.ok && limited.preview?.map((p) => p.userId)).toEqual([sorted[2]!.id]);
    expect(limited.ok && limited.results).toEqual({ batches: 1, users: 1, voidedAmount: 50 });
    expect(await t.db.select().from(creditLedger).where(eq(creditLedger.kind, 'void'))).toEqual([]);
    await expectInvariants(t.db);
  });
});
