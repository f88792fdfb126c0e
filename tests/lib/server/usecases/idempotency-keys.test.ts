import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf } from '@tests/helpers/queries';
import { creditBatches, creditSchedules, jobRuns, subscriptions } from '@/lib/server/db/schema';
import { MAX_CREDITS } from '@/config/credits';
import { grantWelcomeCredits } from '@/lib/server/usecases/grant-welcome-credits';
import { grantCredits, type GrantCreditsParams } from '@/lib/server/usecases/grant-credits';
import { debitCredits } from '@/lib/server/credits/debit';
import { debitCreditsInSteps } from '@/lib/server/credits/debit-in-steps';
import { adjustCredits } from '@/lib/server/usecases/adjust-credits';
import { purchaseCreditPack } from '@/lib/server/usecases/purchase-credit-pack';
import { startSubscription } from '@/lib/server/usecases/start-subscription';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { voidJobRun } from '@/lib/server/usecases/void-job-run';

const t = setupTestDatabase();

// The rule: a key names one request. The same request again is a replay (the original outcome,
// nothing written); the same key with any other parameter is refused, and nothing is written.

describe('a grant key reused with different parameters is refused', () => {
  const base = (userId: string, key: string): GrantCreditsParams => ({
    userId,
    amount: 100,
    source: 'admin',
    category: 'paid',
    expiresAt: at('2027-01-01T00:00:00Z'),
    idempotencyKey: key,
    now: at('2026-01-01T00:00:00Z'),
  });

  it.each<[string, (p: GrantCreditsParams, otherUser: string) => Partial<GrantCreditsParams>]>([
    ['another amount', () => ({ amount: 101 })],
    ['another source', () => ({ source: 'purchase' })],
    ['another category', () => ({ category: 'promotional' })],
    ['another expiry', () => ({ expiresAt: at('2027-02-01T00:00:00Z') })],
    ['no expiry', () => ({ expiresAt: null })],
    ['another user', (_p, otherUser) => ({ userId: otherUser })],
  ])('%s', async (_name, change) => {
    const user = await makeUser(t.db);
    const other = await makeUser(t.db);
    const key = `grant-${user.id}`;
    const first = await grantCredits(t.db, base(user.id, key));
    expect(first).toMatchObject({ ok: true, replayed: false });
    const params = base(user.id, key);
    const second = await grantCredits(t.db, { ...params, ...change(params, other.id) });
    expect(second).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
    expect(await balanceOf(t.db, user.id)).toBe(100);
    expect(await balanceOf(t.db, other.id)).toBe(0);
    await expectInvariants(t.db);
  });

  it('the same grant again, later, is a replay of the first', async () => {
    const user = await makeUser(t.db);
    const first = await grantCredits(t.db, base(user.id, `same-${user.id}`));
    const again = await grantCredits(t.db, { ...base(user.id, `same-${user.id}`), now: at('2026-01-02T00:00:00Z') });
    expect(first.ok && again.ok && again.replayed && again.batch.id === first.batch.id).toBe(true);
    expect(await balanceOf(t.db, user.id)).toBe(100);
  });
});

describe('purchases and adjustments compare what the caller asked, not what was derived from the clock', () => {
  it('a pack purchase retried a day later is a replay; another pack under the same purchase id is refused', async () => {
    const user = await makeUser(t.db);
    const first = await purchaseCreditPack(t.db, {
      userId: user.id,
      packId: 'pack-500',
      purchaseId: `pi_${user.id}`,
      now: at('2026-03-01T00:00:00Z'),
    });
    expect(first).toMatchObject({ ok: true, replayed: false });
    const retry = await purchaseCreditPack(t.db, {
      userId: user.id,
      packId: 'pack-500',
      purchaseId: `pi_${user.id}`,
      now: at('2026-03-02T00:00:00Z'),
    });
    expect(retry).toMatchObject({ ok: true, replayed: true });
    const other = await purchaseCreditPack(t.db, {
      userId: user.id,
      packId: 'pack-2000',
      purchaseId: `pi_${user.id}`,
      now: at('2026-03-02T00:00:00Z'),
    });
    expect(other).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
    expect(await balanceOf(t.db, user.id)).toBe(500);
  });

  it.each([
    ['another amount', { delta: 60 }],
    ['another validity', { validityDays: 10 }],
    ['another category', { category: 'paid' as const }],
  ])('a positive adjustment retried with %s is refused; retried as it was, it is a replay', async (_name, change) => {
    const user = await makeUser(t.db);
    const params = { userId: user.id, delta: 50, reason: 'outage', idempotencyKey: `adj-${user.id}`, validityDays: 30 };
    expect(await adjustCredits(t.db, { ...params, now: at('2026-03-01T00:00:00Z') })).toMatchObject({ ok: true, replayed: false });
    expect(await adjustCredits(t.db, { ...params, now: at('2026-03-01T00:05:00Z') })).toMatchObject({ ok: true, replayed: true });
    expect(await adjustCredits(t.db, { ...params, ...change, now: at('2026-03-01T00:05:00Z') })).toMatchObject({
      ok: false,
      reason: 'idempotency_conflict',
    });
    expect(await balanceOf(t.db, user.id)).toBe(50);
  });
});

// Both debit paths: the one database call the usecases take (credits_debit) and the five-round-trip
// path kept as the bench's baseline. What consumeCredits passes, with a reason.
const debitPaths: [name: string, debit: typeof debitCredits][] = [
  ['one call (credits_debit)', debitCredits],
  ['in steps', debitCreditsInSteps],
];

describe.each(debitPaths)('consumption, a debit %s', (_path, debit) => {
  const spend = (p: { userId: string; amount: number; idempotencyKey: string }) =>
    debit(t.db, { ...p, kind: 'consume', metadata: { reason: 'x' }, now: new Date() });

  it('the same key with another amount or for another user is refused', async () => {
    const user = await makeUser(t.db);
    const other = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 100 });
    await makeBatch(t.db, { userId: other.id, amount: 100 });
    const key = `spend-${user.id}`;
    expect(await spend({ userId: user.id, amount: 10, idempotencyKey: key })).toMatchObject({ ok: true });
    expect(await spend({ userId: user.id, amount: 11, idempotencyKey: key })).toMatchObject({
      ok: false,
      reason: 'idempotency_conflict',
    });
    expect(await spend({ userId: other.id, amount: 10, idempotencyKey: key })).toMatchObject({
      ok: false,
      reason: 'idempotency_conflict',
    });
    expect([await balanceOf(t.db, user.id), await balanceOf(t.db, other.id)]).toEqual([90, 100]);
    await expectInvariants(t.db);
  });

  it('the same key as a deduction (another kind) is refused', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 100 });
    const key = `kind-${user.id}`;
    expect(await spend({ userId: user.id, amount: 10, idempotencyKey: key })).toMatchObject({ ok: true });
    expect(await debit(t.db, { userId: user.id, amount: 10, idempotencyKey: key, kind: 'adjust', now: new Date() })).toMatchObject({
      ok: false,
      reason: 'idempotency_conflict',
    });
    expect(await balanceOf(t.db, user.id)).toBe(90);
  });

  it('a replay reports the original outcome: amount, balance after and the entries written', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 5, expiresAt: at('2099-01-01T00:00:00Z') });
    await makeBatch(t.db, { userId: user.id, amount: 5 });
    const params = { userId: user.id, amount: 7, idempotencyKey: `twice-${user.id}` };
    const first = await spend(params);
    expect(first).toEqual({ ok: true, replayed: false, amount: 7, balanceAfter: 3, entries: 2 });
    expect(await spend(params)).toEqual({ ok: true, replayed: true, amount: 7, balanceAfter: 3, entries: 2 });
  });

  it('a replay after the credits ran out still reports the original success, not short', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 10 });
    const params = { userId: user.id, amount: 10, idempotencyKey: `drained-${user.id}` };
    expect(await spend(params)).toMatchObject({ ok: true, replayed: false, balanceAfter: 0 });
    expect(await spend(params)).toEqual({ ok: true, replayed: true, amount: 10, balanceAfter: 0, entries: 1 });
  });

  it("a spend may not take a key of the engine's grants (it would block that grant for ever)", async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 100 });
    for (const key of [`free:${user.id}:2026-03`, `signup:${user.id}`, 'subscription:x:2026-03-01', 'expire:1', 'void:x:1', 'revoke:x:1']) {
      expect(await spend({ userId: user.id, amount: 1, idempotencyKey: key })).toMatchObject({ ok: false, reason: 'invalid_key' });
    }
    expect(await spend({ userId: user.id, amount: 1, idempotencyKey: '' })).toMatchObject({ ok: false, reason: 'invalid_key' });
    expect(await spend({ userId: user.id, amount: 1, idempotencyKey: 'k'.repeat(256) })).toMatchObject({
      ok: false,
      reason: 'invalid_key',
    });
    expect(await balanceOf(t.db, user.id)).toBe(100);
  });

  it('a key used by a grant, whatever its request, cannot be spent under', async () => {
    const user = await makeUser(t.db);
    const batch = await makeBatch(t.db, { userId: user.id, amount: 100, idempotencyKey: `granted-${user.id}` });
    expect(await spend({ userId: user.id, amount: 100, idempotencyKey: batch.idempotencyKey })).toMatchObject({
      ok: false,
      reason: 'idempotency_conflict',
    });
    expect(await balanceOf(t.db, user.id)).toBe(100);
    await expectInvariants(t.db, user.id);
  });
});

describe('subscriptions', () => {
  it('a start with an existing subscription id for another user or another plan is refused, and changes nothing', async () => {
    const user = await makeUser(t.db);
    const other = await makeUser(t.db);
    const id = `sub_${user.id}`;
    const now = at('2026-01-15T00:00:00Z');
    expect(await startSubscription(t.db, { userId: user.id, planId: 'pro-monthly', subscriptionId: id, now })).toMatchObject({
      ok: true,
      replayed: false,
    });
    expect(await startSubscription(t.db, { userId: other.id, planId: 'pro-monthly', subscriptionId: id, now })).toMatchObject({
      ok: false,
      reason: 'idempotency_conflict',
    });
    expect(await startSubscription(t.db, { userId: user.id, planId: 'pro-yearly', subscriptionId: id, now })).toMatchObject({
      ok: false,
      reason: 'idempotency_conflict',
    });
    expect(
      await startSubscription(t.db, { userId: user.id, planId: 'pro-monthly', subscriptionId: id, now: at('2026-01-15T00:01:00Z') }),
    ).toMatchObject({
      ok: true,
      replayed: true,
    });
    expect(await t.db.select().from(subscriptions).where(eq(subscriptions.userId, other.id))).toEqual([]);
    expect([await balanceOf(t.db, user.id), await balanceOf(t.db, other.id)]).toEqual([1000, 0]);
    await expectInvariants(t.db);
  });

  it('a start without a key is refused: a retry could not be told from a second purchase', async () => {
    const user = await makeUser(t.db);
    const result = await startSubscription(t.db, { userId: user.id, planId: 'pro-monthly', subscriptionId: '' });
    expect(result).toMatchObject({ ok: false, reason: 'invalid_key' });
    expect(await t.db.select().from(subscriptions).where(eq(subscriptions.userId, user.id))).toEqual([]);
  });
});

describe('void', () => {
  it('voiding a run twice reports what the first void took, and takes nothing more', async () => {
    const user = await makeUser(t.db, { now: at('2026-05-01T00:00:00Z') });
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2030-05-10T01:00:00Z') });
    const granted = await t.db.select().from(creditBatches).where(eq(creditBatches.jobRunId, run.jobId));
    const first = await voidJobRun(t.db, { jobRunId: run.jobId, now: at('2030-05-10T02:00:00Z') });
    expect(first).toMatchObject({
      ok: true,
      replayed: false,
      results: { batches: granted.length, voidedAmount: granted.reduce((sum, b) => sum + b.amount, 0) },
    });
    const second = await voidJobRun(t.db, { jobRunId: run.jobId, now: at('2030-05-10T03:00:00Z') });
    expect(second).toEqual({ ...first, replayed: true });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    await expectInvariants(t.db);
  });
});

describe('found by the review', () => {
  it('a plan whose first grant is refused does not start: nothing is written, and the refusal is the answer', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: MAX_CREDITS - 50 });
    const result = await startSubscription(t.db, {
      userId: user.id,
      planId: 'pro-yearly',
      subscriptionId: `sub-${user.id}`,
      now: at('2026-01-15T00:00:00Z'),
    });
    expect(result).toMatchObject({ ok: false, reason: 'balance_out_of_range' });
    expect(await t.db.select().from(subscriptions).where(eq(subscriptions.userId, user.id))).toEqual([]);
    expect(await t.db.select().from(creditSchedules).where(eq(creditSchedules.userId, user.id))).toEqual([]);
    await expectInvariants(t.db, user.id);
  });

  it('the welcome credits granted again later (the self-healing path) are a replay, not a conflict', async () => {
    const user = await makeUser(t.db);
    await grantWelcomeCredits(t.db, { userId: user.id, now: at('2026-03-10T10:00:00Z') });
    const again = await grantWelcomeCredits(t.db, { userId: user.id, now: at('2026-03-10T10:05:00Z') });
    expect(again.bonus).toMatchObject({ ok: true, replayed: true });
    expect(again.free).toMatchObject({ ok: true, replayed: true });
  });

  it('a run left running by a dead process is voided only with force, after it is presumed dead, and is marked failed', async () => {
    await makeUser(t.db, { now: at('2026-05-01T00:00:00Z') });
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2031-05-10T01:00:00Z') });
    // What a killed process leaves behind.
    await t.db
      .update(jobRuns)
      .set({ status: 'running', finishedAt: null, startedAt: at('2031-05-10T01:00:00Z') })
      .where(eq(jobRuns.id, run.jobId));
    const soon = at('2031-05-10T01:10:00Z');
    expect(await voidJobRun(t.db, { jobRunId: run.jobId, now: soon })).toMatchObject({ ok: false, reason: 'run_in_progress' });
    expect(await voidJobRun(t.db, { jobRunId: run.jobId, force: true, now: soon })).toMatchObject({ ok: false, reason: 'run_in_progress' });
    const later = at('2031-05-10T02:00:00Z');
    expect(await voidJobRun(t.db, { jobRunId: run.jobId, now: later })).toMatchObject({ ok: false, reason: 'run_in_progress' });
    const voided = await voidJobRun(t.db, { jobRunId: run.jobId, force: true, now: later });
    expect(voided.ok && voided.results.batches).toBeGreaterThan(0);
    expect((await t.db.select().from(jobRuns).where(eq(jobRuns.id, run.jobId)))[0]).toMatchObject({ status: 'failed' });
    await expectInvariants(t.db);
  });
});
