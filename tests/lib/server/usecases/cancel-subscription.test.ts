import { describe, expect, it } from 'vitest';
import { setupTestDatabase, emptyCreditsTables, onRealServer } from '@tests/helpers/db';
import { at, makeSubscription, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { batchesOf } from '@tests/helpers/queries';
import { cancelSubscription } from '@/lib/server/usecases/cancel-subscription';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { processDueSchedules } from '@/lib/server/usecases/process-due-schedules';

// The jobs walk every user: each scenario owns the whole database.
const t = setupTestDatabase({ emptyBeforeEach: true, maxConnections: 12 });

const keysOf = async (userId: string) => (await batchesOf(t.db, userId)).map((b) => b.idempotencyKey);
const installmentsOf = async (userId: string) => (await batchesOf(t.db, userId)).map((b) => b.installment);

describe('a cancel keeps what was due before it took effect, whenever the job runs', () => {
  it('yearly: an installment due at 00:00, a cancel at 01:00 and the job at 02:00 → the installment is granted', async () => {
    const user = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-yearly', subscriptionId: 'sub_y', now: at('2026-01-15T00:00:00Z') });
    await cancelSubscription(t.db, { subscriptionId: 'sub_y', now: at('2026-02-15T01:00:00Z') });
    const result = await processDueSchedules(t.db, { trigger: 'test', now: at('2026-02-15T02:00:00Z') });
    expect(result.processed).toBe(1);
    expect(await installmentsOf(user.id)).toEqual([1, 2]);
    // Nothing due after the cancel, however late the job runs.
    expect((await processDueSchedules(t.db, { trigger: 'test', now: at('2026-06-01T00:00:00Z') })).processed).toBe(0);
    expect(await installmentsOf(user.id)).toEqual([1, 2]);
    await expectInvariants(t.db);
  });

  it('yearly: a job that was down for months grants every installment due before the cancel, and none after', async () => {
    const user = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-yearly', subscriptionId: 'sub_y2', now: at('2026-01-15T00:00:00Z') });
    await cancelSubscription(t.db, { subscriptionId: 'sub_y2', now: at('2026-04-20T00:00:00Z') });
    await processDueSchedules(t.db, { trigger: 'test', now: at('2026-07-01T00:00:00Z') });
    expect(await installmentsOf(user.id)).toEqual([1, 2, 3, 4]);
    await expectInvariants(t.db);
  });

  it('monthly: a period that began at 15:00, a cancel at 20:00 and the grant job the next morning → that period is granted, not the free tier', async () => {
    const user = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-monthly', subscriptionId: 'sub_m', now: at('2026-01-15T15:00:00Z') });
    await cancelSubscription(t.db, { subscriptionId: 'sub_m', now: at('2026-02-15T20:00:00Z') });
    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-16T01:00:00Z') });
    expect(await keysOf(user.id)).toEqual(['subscription:sub_m:2026-01-15', 'subscription:sub_m:2026-02-15']);
    // The next period began after the cancel: never granted. The month after the plan: the free tier.
    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-03-15T16:00:00Z') });
    expect(await keysOf(user.id)).toEqual(['subscription:sub_m:2026-01-15', 'subscription:sub_m:2026-02-15', `free:${user.id}:2026-03`]);
    await expectInvariants(t.db);
  });

  it('monthly: a cancel before the period began grants nothing of it', async () => {
    const user = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-monthly', subscriptionId: 'sub_m2', now: at('2026-01-15T15:00:00Z') });
    await cancelSubscription(t.db, { subscriptionId: 'sub_m2', now: at('2026-02-15T14:59:59Z') });
    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-16T01:00:00Z') });
    expect(await keysOf(user.id)).toEqual(['subscription:sub_m2:2026-01-15']);
    await expectInvariants(t.db);
  });

  it('lifetime: a month that began before the cancel is granted once', async () => {
    const user = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'lifetime', subscriptionId: 'sub_l', now: at('2026-01-10T00:00:00Z') });
    await cancelSubscription(t.db, { subscriptionId: 'sub_l', now: at('2026-02-01T05:00:00Z') });
    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-01T06:00:00Z') });
    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-03-01T06:00:00Z') });
    expect(await keysOf(user.id)).toEqual(['lifetime:sub_l:2026-01', 'lifetime:sub_l:2026-02', `free:${user.id}:2026-03`]);
    await expectInvariants(t.db);
  });
});

describe.skipIf(!onRealServer)('a cancel racing the jobs (Postgres server)', () => {
  it('two installment jobs and a duplicated cancel at once: the installment due before the cancel is granted exactly once', async () => {
    for (let round = 0; round < 8; round++) {
      await emptyCreditsTables(t.db);
      const user = await makeUser(t.db);
      const id = `sub_race_${round}`;
      await makeSubscription(t.db, { userId: user.id, planId: 'pro-yearly', subscriptionId: id, now: at('2026-01-15T00:00:00Z') });
      const job = () => processDueSchedules(t.db, { trigger: 'test', now: at('2026-02-15T02:00:00Z') });
      const cancel = () => cancelSubscription(t.db, { subscriptionId: id, now: at('2026-02-15T01:00:00Z') });
      await Promise.all([job(), cancel(), job(), cancel()]);
      await job();
      expect(await installmentsOf(user.id)).toEqual([1, 2]);
      await expectInvariants(t.db);
    }
  });

  it('two grant jobs and a cancel at once: the period that began before the cancel is granted exactly once', async () => {
    for (let round = 0; round < 8; round++) {
      await emptyCreditsTables(t.db);
      const user = await makeUser(t.db);
      const id = `sub_mrace_${round}`;
      await makeSubscription(t.db, { userId: user.id, planId: 'pro-monthly', subscriptionId: id, now: at('2026-01-15T15:00:00Z') });
      const job = () => grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-16T01:00:00Z') });
      await Promise.all([job(), cancelSubscription(t.db, { subscriptionId: id, now: at('2026-02-15T20:00:00Z') }), job()]);
      await job();
      expect(await keysOf(user.id)).toEqual([`subscription:${id}:2026-01-15`, `subscription:${id}:2026-02-15`]);
      await expectInvariants(t.db);
    }
  });
});

describe('a yearly term', () => {
  it('ends at anchor + 12 months: the user is back on the free tier from the month after it ends', async () => {
    const user = await makeUser(t.db);
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-yearly', subscriptionId: 'sub_term', now: at('2026-01-15T00:00:00Z') });
    await processDueSchedules(t.db, { trigger: 'test', now: at('2026-12-15T00:00:00Z') });
    expect(await installmentsOf(user.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // Still in the term on Jan 14, 2027: no free credits.
    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2027-01-14T00:00:00Z') });
    expect((await keysOf(user.id)).filter((k) => k.startsWith('free:'))).toEqual([]);
    // The term ended on Jan 15; February is a month without a plan.
    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2027-02-01T01:00:00Z') });
    expect((await keysOf(user.id)).filter((k) => k.startsWith('free:'))).toEqual([`free:${user.id}:2027-02`]);
    await expectInvariants(t.db);
  });
});
