import { describe, expect, it } from 'vitest';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeRegisteredUser, makeSubscription, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { batchesOf } from '@tests/helpers/queries';
import { creditsConfig, findPlan, type LifetimePlan, type MonthlyPlan } from '@/config/credits';
import { cancelSubscription } from '@/lib/server/usecases/cancel-subscription';
import { captureCredits } from '@/lib/server/usecases/capture-credits';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';
import { getCreditSummary } from '@/lib/server/usecases/get-credit-summary';
import { installmentAmount } from '@/lib/server/usecases/start-subscription';
import { processDueSchedules } from '@/lib/server/usecases/process-due-schedules';

const t = setupTestDatabase();

const now = at('2026-06-15T12:00:00Z');
const earlier = at('2026-06-01T00:00:00Z');
const summaryAt = (userId: string, when = now) => getCreditSummary(t.db, { userId, now: when });
const plan = <T>(id: string) => findPlan(creditsConfig, id) as T;

describe('balance and next expiry', () => {
  it('credits held by work in progress show as held, out of the balance and of what can be spent', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 50, now: earlier });
    expect(await reserveCredits(t.db, { userId: user.id, amount: 20, key: `held-${user.id}`, now })).toMatchObject({ ok: true });
    expect(await summaryAt(user.id)).toMatchObject({ balance: 30, held: 20, available: 30 });
    await captureCredits(t.db, { holdKey: `held-${user.id}`, amount: 15, now });
    expect(await summaryAt(user.id)).toMatchObject({
      balance: 35,
      held: 0,
      available: 35,
      totals: { granted: 50, consumed: 15, expired: 0 },
    });
    await expectInvariants(t.db, user.id);
  });

  it('a user without credits has a zero balance, nothing expiring and the free credits next month', async () => {
    const user = await makeUser(t.db);
    expect(await summaryAt(user.id)).toEqual({
      balance: 0,
      held: 0,
      available: 0,
      nextExpiry: null,
      expiringWithin30Days: 0,
      nextGrant: { amount: creditsConfig.freeTier.credits, date: at('2026-07-01T00:00:00Z'), source: 'free', planName: 'Free' },
      totals: { granted: 0, consumed: 0, expired: 0 },
    });
    await expectInvariants(t.db, user.id);
  });

  it('two batches expiring at the same instant are one next expiry of their summed remaining credits, after burn-down took the promotional one first', async () => {
    const user = await makeUser(t.db);
    const july = at('2026-07-01T00:00:00Z');
    // The paid July batch is granted first (lower id, and older): only the burn-down rule puts the promotional one first.
    const paid = await makeBatch(t.db, { userId: user.id, amount: 20, expiresAt: july, category: 'paid', now: at('2026-05-20T00:00:00Z') });
    const promotional = await makeBatch(t.db, { userId: user.id, amount: 30, expiresAt: july, category: 'promotional', now: earlier });
    await makeBatch(t.db, { userId: user.id, amount: 40, expiresAt: at('2026-07-02T00:00:00Z'), now: earlier });
    await makeBatch(t.db, { userId: user.id, amount: 100, expiresAt: null, now: earlier });
    // Burn-down takes 10 from the promotional July batch: the next expiry counts what remains, not what was granted.
    await consumeCredits(t.db, { userId: user.id, amount: 10, reason: 'test', idempotencyKey: `spend-${user.id}`, now });
    const remaining = Object.fromEntries((await batchesOf(t.db, user.id)).map((b) => [b.id, b.remaining]));
    expect([remaining[promotional.id], remaining[paid.id]]).toEqual([20, 20]);

    const summary = await summaryAt(user.id);
    expect(summary.balance).toBe(180);
    expect(summary.available).toBe(180);
    expect(summary.nextExpiry).toEqual({ amount: 40, date: july });
    expect(summary.totals).toEqual({ granted: 190, consumed: 10, expired: 0 });
    await expectInvariants(t.db, user.id);
  });

  it('never-expiring credits are never the next expiry', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 500, expiresAt: null, now: earlier });
    const summary = await summaryAt(user.id);
    expect(summary).toMatchObject({ balance: 500, available: 500, nextExpiry: null, expiringWithin30Days: 0 });
    await expectInvariants(t.db, user.id);
  });

  it('credits past their expiry but not yet swept by the expiry job count in the balance, not in what is available or expiring', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 25, expiresAt: at('2026-06-10T00:00:00Z'), now: earlier });
    await makeBatch(t.db, { userId: user.id, amount: 10, expiresAt: at('2026-06-20T00:00:00Z'), now: earlier });
    const summary = await summaryAt(user.id);
    expect(summary).toMatchObject({
      balance: 35,
      available: 10,
      nextExpiry: { amount: 10, date: at('2026-06-20T00:00:00Z') },
      expiringWithin30Days: 10,
    });
    await expectInvariants(t.db, user.id);
  });

  it('credits not yet effective are in the balance but not available', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 15, effectiveAt: at('2026-06-20T00:00:00Z'), expiresAt: null, now: earlier });
    await makeBatch(t.db, { userId: user.id, amount: 5, expiresAt: null, now: earlier });
    expect(await summaryAt(user.id)).toMatchObject({ balance: 20, available: 5 });
    await expectInvariants(t.db, user.id);
  });
});

describe('expiring within 30 days', () => {
  it('counts every batch expiring in (now, now + 30 days], the last instant included', async () => {
    const user = await makeUser(t.db);
    const in30Days = at('2026-07-15T12:00:00Z');
    await makeBatch(t.db, { userId: user.id, amount: 1, expiresAt: at('2026-06-16T00:00:00Z'), now: earlier });
    await makeBatch(t.db, { userId: user.id, amount: 2, expiresAt: at('2026-07-01T00:00:00Z'), now: earlier });
    await makeBatch(t.db, { userId: user.id, amount: 4, expiresAt: in30Days, now: earlier });
    await makeBatch(t.db, { userId: user.id, amount: 8, expiresAt: new Date(in30Days.getTime() + 1), now: earlier });
    await makeBatch(t.db, { userId: user.id, amount: 16, expiresAt: null, now: earlier });
    const summary = await summaryAt(user.id);
    expect(summary.expiringWithin30Days).toBe(1 + 2 + 4);
    expect(summary.nextExpiry).toEqual({ amount: 1, date: at('2026-06-16T00:00:00Z') });
    expect(summary.balance).toBe(31);
    await expectInvariants(t.db, user.id);
  });

  it('a new user sees the sign-up bonus and the free month as expiring soon', async () => {
    const user = await makeRegisteredUser(t.db, now);
    const summary = await summaryAt(user.id);
    const bonus = creditsConfig.signupBonus.credits;
    const free = creditsConfig.freeTier.credits;
    expect(summary.balance).toBe(bonus + free);
    // The free month ends first (July 1); the 30-day bonus ends on July 15, within the window.
    expect(summary.nextExpiry).toEqual({ amount: free, date: at('2026-07-01T00:00:00Z') });
    expect(summary.expiringWithin30Days).toBe(bonus + free);
    await expectInvariants(t.db, user.id);
  });
});

describe('next grant', () => {
  it('a free user gets the free credits at the start of the next UTC month', async () => {
    const user = await makeRegisteredUser(t.db, now);
    expect((await summaryAt(user.id)).nextGrant).toEqual({
      amount: creditsConfig.freeTier.credits,
      date: at('2026-07-01T00:00:00Z'),
      source: 'free',
      planName: 'Free',
    });
  });

  it('a monthly subscriber gets the next period, counted from the anchor (the 31st lands on the 28th of February)', async () => {
    const user = await makeUser(t.db);
    const monthly = plan<MonthlyPlan>('pro-monthly');
    await makeSubscription(t.db, { userId: user.id, planId: monthly.id, now: at('2026-01-31T09:00:00Z') });
    expect((await summaryAt(user.id, at('2026-02-15T00:00:00Z'))).nextGrant).toEqual({
      amount: monthly.creditsPerPeriod,
      date: at('2026-02-28T09:00:00Z'),
      source: 'subscription',
      planName: monthly.name,
    });
    // From the anchor, not from the previous date: after February 28 comes March 31.
    expect((await summaryAt(user.id, at('2026-03-01T00:00:00Z'))).nextGrant?.date).toEqual(at('2026-03-31T09:00:00Z'));
  });

  it('a lifetime member gets next month’s credits on the first of the month', async () => {
    const user = await makeUser(t.db);
    const lifetime = plan<LifetimePlan>('lifetime');
    await makeSubscription(t.db, { userId: user.id, planId: lifetime.id, now: earlier });
    expect((await summaryAt(user.id)).nextGrant).toEqual({
      amount: lifetime.creditsPerMonth,
      date: at('2026-07-01T00:00:00Z'),
      source: 'lifetime',
      planName: lifetime.name,
    });
    await expectInvariants(t.db, user.id);
  });

  it('a yearly subscriber gets the next installment, and the last one takes the remainder', async () => {
    const user = await makeUser(t.db);
    const anchor = at('2026-01-10T00:00:00Z');
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-yearly', now: anchor });
    const yearly = plan<{ totalCredits: number; installments: number; name: string }>('pro-yearly');
    expect((await summaryAt(user.id, at('2026-01-20T00:00:00Z'))).nextGrant).toEqual({
      amount: installmentAmount(yearly, 2),
      date: at('2026-02-10T00:00:00Z'),
      source: 'schedule',
      planName: yearly.name,
    });
    // Pay out installments 2…11; the twelfth is next.
    const eleventh = at('2026-11-10T00:00:00Z');
    await processDueSchedules(t.db, { trigger: 'test', now: eleventh, catchUp: 36 });
    expect((await summaryAt(user.id, eleventh)).nextGrant).toEqual({
      amount: installmentAmount(yearly, 12),
      date: at('2026-12-10T00:00:00Z'),
      source: 'schedule',
      planName: yearly.name,
    });
    expect(installmentAmount(yearly, 12)).toBeGreaterThan(installmentAmount(yearly, 11));
    await expectInvariants(t.db, user.id);
  });

  it('after canceling their plan a user is back on the free credits', async () => {
    const user = await makeUser(t.db);
    const { subscription } = await makeSubscription(t.db, { userId: user.id, planId: 'pro-monthly', now: earlier });
    await cancelSubscription(t.db, { subscriptionId: subscription.id, now });
    expect((await summaryAt(user.id)).nextGrant).toMatchObject({ source: 'free', date: at('2026-07-01T00:00:00Z') });
    await expectInvariants(t.db, user.id);
  });
});

it('every scenario leaves the invariants intact', async () => {
  await expectInvariants(t.db);
});
