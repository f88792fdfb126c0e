import { describe, expect, it } from 'vitest';
import { setupTestDatabase, onRealServer } from '@tests/helpers/db';
import { at, makeRegisteredUser, makeUser } from '@tests/helpers/factories';
import { expectInvariants, ledgerChainBreaks } from '@tests/helpers/invariants';
import { balanceOf, batchesOf, ledgerOf } from '@tests/helpers/queries';
import { grantCredits } from '@/lib/server/usecases/grant-credits';
import { purchaseCreditPack } from '@/lib/server/usecases/purchase-credit-pack';
import { startSubscription } from '@/lib/server/usecases/start-subscription';
import { cancelSubscription } from '@/lib/server/usecases/cancel-subscription';
import { ensureWelcomeCredits, grantWelcomeCredits } from '@/lib/server/usecases/grant-welcome-credits';
import { creditsConfig } from '@/config/credits';
import { creditSchedules } from '@/lib/server/db/schema';
import { eq } from 'drizzle-orm';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';

const t = setupTestDatabase();

const now = at('2026-03-10T12:00:00Z');

describe('grant primitive', () => {
  it('writes the batch, one grant entry and the balance together', async () => {
    const user = await makeUser(t.db);
    const result = await grantCredits(t.db, {
      userId: user.id,
      amount: 250,
      source: 'admin',
      category: 'paid',
      idempotencyKey: 'grant-once',
      expiresAt: at('2026-04-01T00:00:00Z'),
      now,
    });
    expect(result).toMatchObject({ ok: true, replayed: false, balanceAfter: 250 });
    expect(await balanceOf(t.db, user.id)).toBe(250);
    const [entry] = await ledgerOf(t.db, user.id);
    expect(entry).toMatchObject({ kind: 'grant', delta: 250, balanceAfter: 250, operationKey: 'grant-once' });
    await expectInvariants(t.db, user.id);
  });

  it('a repeated key changes nothing and returns the original batch', async () => {
    const user = await makeUser(t.db);
    const params = {
      userId: user.id,
      amount: 40,
      source: 'admin' as const,
      category: 'paid' as const,
      idempotencyKey: `again-${user.id}`,
      expiresAt: null,
      now,
    };
    const first = await grantCredits(t.db, params);
    const second = await grantCredits(t.db, params);
    expect(first).toMatchObject({ ok: true, replayed: false, balanceAfter: 40 });
    expect(second).toMatchObject({ ok: true, replayed: true, batch: first.ok ? first.batch : 'no first batch' });
    expect(await balanceOf(t.db, user.id)).toBe(40);
    expect(await ledgerOf(t.db, user.id)).toHaveLength(1);
    await expectInvariants(t.db, user.id);
  });

  it('refuses a key already used for a different grant, and writes nothing', async () => {
    const a = await makeUser(t.db);
    const b = await makeUser(t.db);
    await grantCredits(t.db, {
      userId: a.id,
      amount: 10,
      source: 'admin',
      category: 'paid',
      idempotencyKey: 'shared-key',
      expiresAt: null,
      now,
    });
    const result = await grantCredits(t.db, {
      userId: b.id,
      amount: 10,
      source: 'admin',
      category: 'paid',
      idempotencyKey: 'shared-key',
      expiresAt: null,
      now,
    });
    expect(result).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
    expect(await balanceOf(t.db, b.id)).toBe(0);
    await expectInvariants(t.db);
  });

  it.each([0, -5, 1.5])('refuses an amount of %s and writes nothing', async (amount) => {
    const user = await makeUser(t.db);
    const result = await grantCredits(t.db, {
      userId: user.id,
      amount,
      source: 'admin',
      category: 'paid',
      idempotencyKey: `bad-${amount}-${user.id}`,
      expiresAt: null,
      now,
    });
    expect(result).toMatchObject({ ok: false, reason: 'invalid_amount' });
    expect(await batchesOf(t.db, user.id)).toHaveLength(0);
  });

  it('refuses an expiry that is not after the effective date', async () => {
    const user = await makeUser(t.db);
    const result = await grantCredits(t.db, {
      userId: user.id,
      amount: 5,
      source: 'admin',
      category: 'paid',
      idempotencyKey: `exp-${user.id}`,
      expiresAt: now,
      now,
    });
    expect(result).toMatchObject({ ok: false, reason: 'invalid_expiry' });
    expect(await batchesOf(t.db, user.id)).toHaveLength(0);
  });
});

describe('sources of credits', () => {
  it('a new user receives the sign-up bonus and the free month, once, however often it is called', async () => {
    const user = await makeRegisteredUser(t.db, now);
    await grantWelcomeCredits(t.db, { userId: user.id, now });
    await grantWelcomeCredits(t.db, { userId: user.id, now: at('2026-03-20T00:00:00Z') });
    const batches = await batchesOf(t.db, user.id);
    expect(batches.map((b) => [b.source, b.idempotencyKey, b.amount, b.category])).toEqual([
      ['signup', `signup:${user.id}`, creditsConfig.signupBonus.credits, 'promotional'],
      ['free', `free:${user.id}:2026-03`, creditsConfig.freeTier.credits, 'promotional'],
    ]);
    expect(batches[0]!.expiresAt).toEqual(at('2026-04-09T12:00:00Z')); // 30 days
    expect(batches[1]!.expiresAt).toEqual(at('2026-04-01T00:00:00Z')); // end of the month
    await expectInvariants(t.db, user.id);
  });

  it('a user whose sign-up hook failed gets the welcome credits on their next request, once', async () => {
    const user = await makeUser(t.db); // created, but the hook never ran
    expect(await ensureWelcomeCredits(t.db, { userId: user.id, now })).toBe(true);
    expect(await ensureWelcomeCredits(t.db, { userId: user.id, now })).toBe(false);
    expect((await batchesOf(t.db, user.id)).map((b) => b.source)).toEqual(['signup', 'free']);
    await expectInvariants(t.db, user.id);
  });

  it('a credit pack is granted once per purchase id, with the pack validity', async () => {
    const user = await makeUser(t.db);
    const first = await purchaseCreditPack(t.db, { userId: user.id, packId: 'pack-500', purchaseId: 'pi_123', now });
    const webhookAgain = await purchaseCreditPack(t.db, { userId: user.id, packId: 'pack-500', purchaseId: 'pi_123', now });
    expect(first).toMatchObject({ ok: true, replayed: false });
    expect(webhookAgain).toMatchObject({ ok: true, replayed: true });
    const [batch] = await batchesOf(t.db, user.id);
    expect(batch).toMatchObject({
      source: 'purchase',
      amount: 500,
      idempotencyKey: 'purchase:pi_123',
      purchaseId: 'pi_123',
      category: 'paid',
    });
    expect(batch!.expiresAt).toEqual(at('2027-03-10T12:00:00Z'));
    const neverExpiring = await purchaseCreditPack(t.db, { userId: user.id, packId: 'pack-2000', purchaseId: 'pi_456', now });
    expect(neverExpiring.ok && !neverExpiring.replayed && neverExpiring.batch.expiresAt).toBeNull();
    expect(await balanceOf(t.db, user.id)).toBe(2500);
    await expectInvariants(t.db, user.id);
  });

  it('an unknown pack is refused without a write', async () => {
    const user = await makeUser(t.db);
    expect(await purchaseCreditPack(t.db, { userId: user.id, packId: 'nope', purchaseId: 'pi_x', now })).toMatchObject({
      ok: false,
      reason: 'unknown_pack',
    });
    expect(await batchesOf(t.db, user.id)).toHaveLength(0);
  });

  it('a monthly plan grants its first period at once, expiring when the period ends plus the grace day', async () => {
    const user = await makeUser(t.db);
    const result = await startSubscription(t.db, { userId: user.id, planId: 'pro-monthly', subscriptionId: 'sub_monthly_1', now });
    expect(result.ok).toBe(true);
    const [batch] = await batchesOf(t.db, user.id);
    expect(batch).toMatchObject({
      source: 'subscription',
      amount: 1000,
      idempotencyKey: 'subscription:sub_monthly_1:2026-03-10',
      subscriptionId: 'sub_monthly_1',
    });
    expect(batch!.expiresAt).toEqual(at('2026-04-11T12:00:00Z')); // pro-monthly: graceDays 1
    await expectInvariants(t.db, user.id);
  });

  it('a yearly plan grants its first installment and schedules the other eleven', async () => {
    const user = await makeUser(t.db);
    const result = await startSubscription(t.db, { userId: user.id, planId: 'pro-yearly', subscriptionId: `sub-${user.id}`, now });
    if (!result.ok) throw new Error(result.message);
    expect(result.schedule).toMatchObject({
      installmentsTotal: 12,
      installmentsDone: 1,
      creditsTotal: 10_000,
      creditsGranted: 833,
      creditsRemaining: 9_167,
      status: 'active',
    });
    expect(result.schedule!.nextDueAt).toEqual(at('2026-04-10T12:00:00Z'));
    const [batch] = await batchesOf(t.db, user.id);
    expect(batch).toMatchObject({ source: 'schedule', amount: 833, installment: 1, idempotencyKey: `schedule:${result.schedule!.id}:1` });
    await expectInvariants(t.db, user.id);
  });

  it('a lifetime plan grants this calendar month at once, expiring at its end', async () => {
    const user = await makeUser(t.db);
    await startSubscription(t.db, { userId: user.id, planId: 'lifetime', subscriptionId: 'life_1', now });
    const [batch] = await batchesOf(t.db, user.id);
    expect(batch).toMatchObject({ source: 'lifetime', amount: 500, idempotencyKey: 'lifetime:life_1:2026-03' });
    expect(batch!.expiresAt).toEqual(at('2026-04-01T00:00:00Z'));
    await expectInvariants(t.db, user.id);
  });

  it('starting the same subscription twice grants once', async () => {
    const user = await makeUser(t.db);
    await startSubscription(t.db, { userId: user.id, planId: 'pro-monthly', subscriptionId: 'sub_twice', now });
    const again = await startSubscription(t.db, { userId: user.id, planId: 'pro-monthly', subscriptionId: 'sub_twice', now });
    expect(again).toMatchObject({ ok: true, replayed: true });
    expect(await balanceOf(t.db, user.id)).toBe(1000);
  });

  it('an unknown plan is refused without a write', async () => {
    const user = await makeUser(t.db);
    expect(await startSubscription(t.db, { userId: user.id, planId: 'gold', subscriptionId: `sub-${user.id}`, now })).toMatchObject({
      ok: false,
      reason: 'unknown_plan',
    });
    expect(await batchesOf(t.db, user.id)).toHaveLength(0);
  });

  it('canceling keeps the credits already granted and cancels the schedule', async () => {
    const user = await makeUser(t.db);
    const started = await startSubscription(t.db, { userId: user.id, planId: 'pro-yearly', subscriptionId: 'sub_cancel', now });
    const canceled = await cancelSubscription(t.db, { subscriptionId: 'sub_cancel', now: at('2026-03-11T00:00:00Z') });
    expect(canceled).toMatchObject({ ok: true, replayed: false, subscription: { status: 'canceled' } });
    expect(await cancelSubscription(t.db, { subscriptionId: 'sub_cancel' })).toMatchObject({ ok: true, replayed: true });
    expect(await cancelSubscription(t.db, { subscriptionId: 'missing' })).toMatchObject({ ok: false, reason: 'not_found' });
    expect(await balanceOf(t.db, user.id)).toBe(833);
    const schedule = started.ok ? started.schedule : null;
    const [row] = await t.db.select().from(creditSchedules).where(eq(creditSchedules.id, schedule!.id));
    expect(row).toMatchObject({ status: 'canceled', nextDueAt: null });
    await expectInvariants(t.db, user.id);
  });
});

// PGlite is one connection: only a Postgres server runs two grants to one user at the same moment.
describe.skipIf(!onRealServer)('grants at the same moment (Postgres server)', () => {
  const grant = (userId: string, amount: number, key: string) =>
    grantCredits(t.db, { userId, amount, source: 'admin', category: 'paid', idempotencyKey: key, expiresAt: null, now });

  it('each of 20 simultaneous grants starts from the balance the one before it left (the balance row is locked first)', async () => {
    const user = await makeUser(t.db);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => grant(user.id, 10, `together-${user.id}-${i}`)));
    const after = results.map((r) => (r.ok && !r.replayed ? r.balanceAfter : r));
    expect(after.sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 20 }, (_, i) => 10 * (i + 1)));
    expect(await ledgerChainBreaks(t.db, user.id)).toEqual([]);
    await expectInvariants(t.db, user.id);
  });

  it('grants racing consumptions each see the other: every ledger entry follows from the one before', async () => {
    const user = await makeUser(t.db);
    await grant(user.id, 20, `start-${user.id}`);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2
          ? consumeCredits(t.db, { userId: user.id, amount: 2, reason: 'race', idempotencyKey: `race-consume-${user.id}-${i}`, now })
          : grant(user.id, 2, `race-grant-${user.id}-${i}`),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(await balanceOf(t.db, user.id)).toBe(20);
    expect(await ledgerChainBreaks(t.db, user.id)).toEqual([]);
    await expectInvariants(t.db, user.id);
  });
});
