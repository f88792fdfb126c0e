import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeSubscription, makeUser } from '@tests/helpers/factories';
import { MAX_CREDITS } from '@/config/credits';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf, batchesOf } from '@tests/helpers/queries';
import { processDueSchedules } from '@/lib/server/usecases/process-due-schedules';
import { cancelSubscription } from '@/lib/server/usecases/cancel-subscription';
import { creditSchedules, jobRuns } from '@/lib/server/db/schema';

const t = setupTestDatabase({ emptyBeforeEach: true });

const run = (now: Date, extra: Partial<Parameters<typeof processDueSchedules>[1]> = {}) =>
  processDueSchedules(t.db, { trigger: 'test', now, ...extra });

async function yearly(anchor: string, subscriptionId = `sub-${Math.random().toString(36).slice(2)}`) {
  const user = await makeUser(t.db);
  const started = await makeSubscription(t.db, { userId: user.id, planId: 'pro-yearly', subscriptionId, now: at(anchor) });
  return { user, schedule: started.schedule!, subscriptionId };
}

const scheduleRow = async (id: string) => (await t.db.select().from(creditSchedules).where(eq(creditSchedules.id, id)))[0]!;

describe('installments', () => {
  it('catch-up after a three-month outage: anchor Jan 15, run on Apr 20 grants Feb, Mar and Apr; next due May 15', async () => {
    const { user, schedule, subscriptionId } = await yearly('2025-01-15T00:00:00Z');
    const result = await run(at('2025-04-20T00:00:00Z'));
    expect(result).toMatchObject({ processed: 3, schedulesTouched: 1, hasMore: false });
    expect(result.grants).toEqual([
      { scheduleId: schedule.id, subscriptionId, userId: user.id, totalGranted: 2499, grantsProcessed: 3, remainingGrants: 8 },
    ]);
    const batches = await batchesOf(t.db, user.id);
    expect(batches.map((b) => [b.installment, b.effectiveAt.toISOString().slice(0, 10)])).toEqual([
      [1, '2025-01-15'],
      [2, '2025-02-15'],
      [3, '2025-03-15'],
      [4, '2025-04-15'],
    ]);
    // A late installment's validity counts from when it is granted: none arrives already expired.
    for (const batch of batches.slice(1)) expect(batch.expiresAt).toEqual(at('2025-06-04T00:00:00Z'));
    expect(await scheduleRow(schedule.id)).toMatchObject({
      installmentsDone: 4,
      nextDueAt: at('2025-05-15T00:00:00Z'),
      creditsGranted: 4 * 833,
    });
    // The job-run row keeps the counts; the per-schedule list is the caller's answer only.
    const [jobRun] = await t.db.select().from(jobRuns).where(eq(jobRuns.id, result.jobId));
    expect(jobRun).toMatchObject({ status: 'succeeded', results: { processed: 3, schedulesTouched: 1, failed: 0 } });
    expect(jobRun!.results).not.toHaveProperty('grants');
    await expectInvariants(t.db);
  });

  it('an anchor on Jan 31 grants on Feb 28, Mar 31 and Apr 30', async () => {
    const { user } = await yearly('2025-01-31T00:00:00Z');
    for (const day of ['2025-02-28', '2025-03-31', '2025-04-30']) await run(at(`${day}T00:00:00Z`));
    const dates = (await batchesOf(t.db, user.id)).map((b) => b.effectiveAt.toISOString().slice(0, 10));
    expect(dates).toEqual(['2025-01-31', '2025-02-28', '2025-03-31', '2025-04-30']);
    await expectInvariants(t.db);
  });

  it('nothing is granted a moment before an installment is due', async () => {
    const { user } = await yearly('2025-01-15T10:00:00Z');
    expect((await run(at('2025-02-15T09:59:59Z'))).processed).toBe(0);
    expect((await run(at('2025-02-15T10:00:00Z'))).processed).toBe(1);
    expect(await balanceOf(t.db, user.id)).toBe(1666);
  });

  it('catchUp bounds the installments per schedule per call; the next call continues', async () => {
    const { schedule } = await yearly('2025-01-15T00:00:00Z');
    const now = at('2025-12-20T00:00:00Z'); // installments 2…12 are all due
    const first = await run(now, { catchUp: 4 });
    expect(first).toMatchObject({ processed: 4, hasMore: true });
    expect(first.grants[0]).toMatchObject({ grantsProcessed: 4, remainingGrants: 7 });
    const second = await run(now, { catchUp: 4 });
    expect(second).toMatchObject({ processed: 4, hasMore: true });
    const third = await run(now, { catchUp: 4 });
    expect(third).toMatchObject({ processed: 3, hasMore: false });
    expect(third.grants[0]).toMatchObject({ remainingGrants: 0 });
    expect(await scheduleRow(schedule.id)).toMatchObject({
      status: 'completed',
      nextDueAt: null,
      installmentsDone: 12,
      creditsRemaining: 0,
      creditsGranted: 10_000,
    });
    await expectInvariants(t.db);
  });

  it('the last installment takes whatever remains', async () => {
    const { user } = await yearly('2025-01-15T00:00:00Z');
    await run(at('2026-01-20T00:00:00Z'), { catchUp: 36 });
    const amounts = (await batchesOf(t.db, user.id)).map((b) => b.amount);
    expect(amounts).toEqual([...Array(11).fill(833), 837]);
    expect(amounts.reduce((a, b) => a + b, 0)).toBe(10_000);
    // Nothing more after the plan is paid out.
    expect((await run(at('2026-06-01T00:00:00Z'))).processed).toBe(0);
    await expectInvariants(t.db);
  });

  it('a canceled subscription receives no further installments', async () => {
    const { user, subscriptionId } = await yearly('2025-01-15T00:00:00Z');
    await cancelSubscription(t.db, { subscriptionId, now: at('2025-02-01T00:00:00Z') });
    expect(await run(at('2025-04-20T00:00:00Z'))).toMatchObject({ processed: 0, schedulesTouched: 0, hasMore: false });
    expect(await balanceOf(t.db, user.id)).toBe(833);
    await expectInvariants(t.db);
  });

  it('a repeated run grants nothing twice', async () => {
    const { user } = await yearly('2025-01-15T00:00:00Z');
    await run(at('2025-03-16T00:00:00Z'));
    expect((await run(at('2025-03-16T00:00:00Z'))).processed).toBe(0);
    expect(await balanceOf(t.db, user.id)).toBe(3 * 833);
    await expectInvariants(t.db);
  });

  it('takes the oldest due schedules first and stops at the limit with hasMore', async () => {
    const late = await yearly('2025-03-01T00:00:00Z');
    const early = await yearly('2025-01-01T00:00:00Z');
    const middle = await yearly('2025-02-01T00:00:00Z');
    const now = at('2025-04-02T00:00:00Z');
    const first = await run(now, { limit: 2 });
    expect(first.grants.map((g) => g.scheduleId).sort()).toEqual([early.schedule.id, middle.schedule.id].sort());
    expect(first.hasMore).toBe(true);
    const second = await run(now, { limit: 2 });
    expect(second.grants.map((g) => g.scheduleId)).toEqual([late.schedule.id]);
    expect(second.hasMore).toBe(false);
    await expectInvariants(t.db);
  });

  it('a dry run reports the installments and writes nothing', async () => {
    const { user, schedule } = await yearly('2025-01-15T00:00:00Z');
    const result = await run(at('2025-04-20T00:00:00Z'), { dryRun: true });
    expect(result).toMatchObject({ processed: 3, schedulesTouched: 1 });
    expect(await balanceOf(t.db, user.id)).toBe(833);
    expect(await scheduleRow(schedule.id)).toMatchObject({ installmentsDone: 1 });
    await expectInvariants(t.db);
  });

  it('one failing schedule is counted and the others are granted', async () => {
    const bad = await yearly('2025-01-15T00:00:00Z');
    const good = await yearly('2025-01-16T00:00:00Z');
    // The next installment would take the bad user's balance past MAX_CREDITS: the database refuses it.
    await makeBatch(t.db, { userId: bad.user.id, amount: MAX_CREDITS - 1_000 });
    const result = await run(at('2025-02-20T00:00:00Z'));
    expect(result).toMatchObject({ processed: 1, failed: 1, schedulesTouched: 1 });
    expect(await balanceOf(t.db, good.user.id)).toBe(1666);
    expect(await scheduleRow(bad.schedule.id)).toMatchObject({ installmentsDone: 1 });
    expect(result.hasMore).toBe(false); // the failed one is left for the next run, not retried in a loop
    await expectInvariants(t.db);
  });
});
