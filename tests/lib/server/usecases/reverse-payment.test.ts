import { describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { setupTestDatabase, emptyCreditsTables, onRealServer } from '@tests/helpers/db';
import { at, makeUser } from '@tests/helpers/factories';
import { expectInvariants, ledgerChainBreaks } from '@tests/helpers/invariants';
import { balanceOf, batchesOf, ledgerOf } from '@tests/helpers/queries';
import { makeLifetimePayment, makePackPayment, makePeriodPayment, makeTermPayment, reversalOf } from '@tests/helpers/payments';
import {
  billingEvents,
  creditLedger,
  creditTakeBacks,
  creditSchedules,
  paymentReversals,
  payments,
  subscriptions,
  type PaymentProviderId,
} from '@/lib/server/db/schema';
import { queryRows, transaction } from '@/lib/server/db/sql';
import { lockBalance } from '@/lib/server/credits/balances';
import type { BillingEvent } from '@/lib/server/payments/events';
import { applyBillingEvents, applyBillingWebhook } from '@/lib/server/usecases/apply-billing-webhook';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { captureCredits } from '@/lib/server/usecases/capture-credits';
import { releaseCredits } from '@/lib/server/usecases/release-credits';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';
import { balanceRowOf } from '@tests/helpers/holds';
import { processDueSchedules } from '@/lib/server/usecases/process-due-schedules';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { refuseKey } from '@/lib/server/credits/keys';
import { reversePayment } from '@/lib/server/usecases/reverse-payment';
import type { Database } from '@/lib/server/db/types';
import { creditsConfig } from '@/config/credits';

const t = setupTestDatabase({ maxConnections: 30 });

const bought = at('2026-03-10T12:00:00Z');
const refundedAt = at('2026-03-20T12:00:00Z');

const apply = (events: BillingEvent[], now = refundedAt, provider: PaymentProviderId = 'stripe') =>
  applyBillingEvents(t.db, { provider, events, now });

const spend = (userId: string, amount: number, now = at('2026-03-15T12:00:00Z')) =>
  consumeCredits(t.db, { userId, amount, reason: 'test', idempotencyKey: `spend-${userId}-${amount}-${now.getTime()}`, now });

const reversalRow = async (id: string) => (await t.db.select().from(paymentReversals).where(eq(paymentReversals.id, id)))[0];
const paymentRow = async (id: string) => (await t.db.select().from(payments).where(eq(payments.id, id)))[0]!;
const revokes = async (userId: string) => (await ledgerOf(t.db, userId)).filter((e) => e.kind === 'revoke');

describe('a credit pack refunded', () => {
  it('a full refund of a pack half spent takes back the unspent 250 and records the spent 250 as not recovered', async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought });
    expect((await spend(user.id, 250)).ok).toBe(true);
    const refund = reversalOf(payment, { amount: 500, at: refundedAt, reversalId: 're_full' });

    expect(await apply([refund])).toEqual([{ type: 'payment_reversed', result: 'applied', detail: expect.any(String) }]);

    expect(await balanceOf(t.db, user.id)).toBe(0);
    expect((await batchesOf(t.db, user.id)).map((b) => b.remaining)).toEqual([0]);
    expect(await reversalRow('stripe:re_full')).toMatchObject({
      paymentId: payment.id,
      userId: user.id,
      kind: 'refund',
      amount: 500,
      creditsTakenBack: 250,
      creditsNotRecovered: 250,
    });
    expect(await paymentRow(payment.id)).toMatchObject({ amountRefunded: 500, status: 'refunded' });
    const entries = await revokes(user.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      delta: -250,
      balanceAfter: 0,
      operationKey: 'revoke:stripe:re_full',
      metadata: { paymentId: payment.id, reversalId: 'stripe:re_full', kind: 'refund' },
    });
    // Taken back counts as consumed, as a void does: granted 500 − consumed 250 − revoked 250 = 0.
    const [balance] = await queryRows<{ total_consumed: number }>(
      t.db,
      sql`select total_consumed from credit_balances where user_id = ${user.id}`,
    );
    expect(Number(balance!.total_consumed)).toBe(500);
    await expectInvariants(t.db, user.id);
  });

  it('a refund of half the price takes back half the credits while that many are unspent: nothing is recorded as not recovered', async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought });
    await spend(user.id, 100);
    await apply([reversalOf(payment, { amount: 250, at: refundedAt, reversalId: 're_half' })]);
    // The refund's share is 250 credits; 400 are unspent, so all 250 come back.
    expect(await reversalRow('stripe:re_half')).toMatchObject({ amount: 250, creditsTakenBack: 250, creditsNotRecovered: 0 });
    expect(await balanceOf(t.db, user.id)).toBe(150);
    expect(await paymentRow(payment.id)).toMatchObject({ amountRefunded: 250, status: 'partially_refunded' });
    await expectInvariants(t.db, user.id);
  });

  it('a refund of half the price after 300 of 500 were spent takes back the 200 left and records 50 as spent', async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought });
    await spend(user.id, 300);
    await apply([reversalOf(payment, { amount: 250, at: refundedAt, reversalId: 're_half_spent' })]);
    expect(await reversalRow('stripe:re_half_spent')).toMatchObject({ creditsTakenBack: 200, creditsNotRecovered: 50 });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    await expectInvariants(t.db, user.id);
  });

  it('two partial refunds that add up to the price take back everything unspent', async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought });
    await apply([reversalOf(payment, { amount: 200, at: refundedAt, reversalId: 're_a' })]);
    expect(await balanceOf(t.db, user.id)).toBe(300);
    await spend(user.id, 100, at('2026-03-21T12:00:00Z'));
    await apply([reversalOf(payment, { amount: 300, at: at('2026-03-22T12:00:00Z'), reversalId: 're_b' })], at('2026-03-22T12:00:00Z'));

    expect(await balanceOf(t.db, user.id)).toBe(0);
    expect(await reversalRow('stripe:re_a')).toMatchObject({ creditsTakenBack: 200, creditsNotRecovered: 0 });
    expect(await reversalRow('stripe:re_b')).toMatchObject({ creditsTakenBack: 200, creditsNotRecovered: 100 });
    expect(await paymentRow(payment.id)).toMatchObject({ amountRefunded: 500, status: 'refunded' });
    expect((await revokes(user.id)).map((e) => [e.operationKey, e.delta])).toEqual([
      ['revoke:stripe:re_a', -200],
      ['revoke:stripe:re_b', -200],
    ]);
    await expectInvariants(t.db, user.id);
  });

  it('a second partial refund takes its share of what is left to refund, not of the whole price', async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought });
    await apply([reversalOf(payment, { amount: 100, at: refundedAt, reversalId: 're_p1' })]);
    await apply([reversalOf(payment, { amount: 200, at: refundedAt, reversalId: 're_p2' })]);
    // 400 unspent after the first; 200 of the 400 cents still refundable is half of it.
    expect(await reversalRow('stripe:re_p2')).toMatchObject({ creditsTakenBack: 200, creditsNotRecovered: 0 });
    expect(await balanceOf(t.db, user.id)).toBe(200);
    expect(await paymentRow(payment.id)).toMatchObject({ amountRefunded: 300, status: 'partially_refunded' });
    await expectInvariants(t.db, user.id);
  });

  it('a refund larger than what is left to refund counts only what was left', async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought });
    await apply([reversalOf(payment, { amount: 400, at: refundedAt, reversalId: 're_big' })]);
    await apply([reversalOf(payment, { amount: 400, at: refundedAt, reversalId: 're_more' })]);
    expect(await reversalRow('stripe:re_more')).toMatchObject({ amount: 100, creditsTakenBack: 100, creditsNotRecovered: 0 });
    expect(await paymentRow(payment.id)).toMatchObject({ amountRefunded: 500, status: 'refunded' });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    await expectInvariants(t.db, user.id);
  });

  it('the same refund delivered twice takes the credits once', async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought });
    const refund = reversalOf(payment, { amount: 250, at: refundedAt, reversalId: 're_twice' });
    expect((await apply([refund]))[0]!.result).toBe('applied');
    expect(await apply([refund])).toEqual([{ type: 'payment_reversed', result: 'replayed' }]);
    expect(await balanceOf(t.db, user.id)).toBe(250);
    expect(await paymentRow(payment.id)).toMatchObject({ amountRefunded: 250 });
    expect(await revokes(user.id)).toHaveLength(1);
    await expectInvariants(t.db, user.id);
  });

  it("Stripe's refund.created and charge.refunded naming one refund (by other ids of the payment) take the credits once", async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought, paymentId: 'cs_one', chargeId: 'pi_one' });
    const refundCreated = reversalOf(payment, { amount: 500, at: refundedAt, reversalId: 're_one', paymentRefs: ['pi_one'] });
    const chargeRefunded = reversalOf(payment, {
      amount: 500,
      at: refundedAt,
      reversalId: 're_one',
      paymentRefs: ['ch_one', 'pi_one', 'cs_one'],
    });
    const first = await applyBillingWebhook(
      t.db,
      { provider: 'stripe', eventId: 'evt_refund_created', eventType: 'refund.created', events: [refundCreated] },
      { now: refundedAt },
    );
    const second = await applyBillingWebhook(
      t.db,
      { provider: 'stripe', eventId: 'evt_charge_refunded', eventType: 'charge.refunded', events: [chargeRefunded] },
      { now: refundedAt },
    );
    expect(first.outcomes.map((o) => o.result)).toEqual(['applied']);
    expect(second).toEqual({ duplicate: false, outcomes: [{ type: 'payment_reversed', result: 'replayed' }] });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    expect(await revokes(user.id)).toHaveLength(1);
    expect(await paymentRow(payment.id)).toMatchObject({ amountRefunded: 500, status: 'refunded' });
    await expectInvariants(t.db, user.id);
  });

  it('a dispute takes the credits back like a refund of its amount, and marks the payment disputed', async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought });
    await spend(user.id, 50);
    await apply([reversalOf(payment, { kind: 'dispute', amount: 500, at: refundedAt, reversalId: 'dp_1' })]);
    expect(await reversalRow('stripe:dp_1')).toMatchObject({
      kind: 'dispute',
      amount: 500,
      creditsTakenBack: 450,
      creditsNotRecovered: 50,
    });
    expect(await paymentRow(payment.id)).toMatchObject({ amountRefunded: 500, status: 'disputed' });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    expect((await revokes(user.id))[0]!.metadata).toMatchObject({ kind: 'dispute' });
    await expectInvariants(t.db, user.id);
  });

  it('everything already spent: the refund is recorded with nothing taken back and no ledger entry', async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought });
    await spend(user.id, 500);
    await apply([reversalOf(payment, { amount: 500, at: refundedAt, reversalId: 're_spent' })]);
    expect(await reversalRow('stripe:re_spent')).toMatchObject({ creditsTakenBack: 0, creditsNotRecovered: 500 });
    expect(await revokes(user.id)).toEqual([]);
    expect(await paymentRow(payment.id)).toMatchObject({ status: 'refunded' });
    await expectInvariants(t.db, user.id);
  });

  it("takes only the payment's own credits: the user's other credits stay", async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought });
    await makePackPayment(t.db, { userId: user.id, now: bought, packId: 'pack-2000' });
    await apply([reversalOf(payment, { amount: 500, at: refundedAt })]);
    expect(await balanceOf(t.db, user.id)).toBe(2000);
    expect((await batchesOf(t.db, user.id)).map((b) => b.remaining)).toEqual([0, 2000]);
    await expectInvariants(t.db, user.id);
  });
});

describe('a credit pack refunded while a hold has its credits', () => {
  const reservedAt = at('2026-03-20T11:59:00Z');
  const settledAt = at('2026-03-20T12:01:00Z');
  const takeBacksOf = (userId: string) =>
    t.db.select().from(creditTakeBacks).where(eq(creditTakeBacks.userId, userId)).orderBy(creditTakeBacks.id);

  it('a half refund owes the held part of its share; the release pays it first (release +300, revoke −50 under the release key)', async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought });
    const holdKey = `held-${user.id}`;
    expect(await reserveCredits(t.db, { userId: user.id, amount: 300, key: holdKey, ttlSeconds: 600, now: reservedAt })).toMatchObject({
      ok: true,
    });
    await apply([reversalOf(payment, { amount: 250, at: refundedAt, reversalId: 're_half_held' })]);
    // Share 250: the 200 unheld come back now; the 50 more are held, owed by the hold's release.
    expect(await reversalRow('stripe:re_half_held')).toMatchObject({ creditsTakenBack: 200, creditsNotRecovered: 50 });
    expect(await takeBacksOf(user.id)).toMatchObject([
      { operationKey: 'revoke:stripe:re_half_held', kind: 'revoke', amount: 50, pending: 50 },
    ]);
    expect(await balanceOf(t.db, user.id)).toBe(0);

    expect(await releaseCredits(t.db, { holdKey, now: settledAt })).toMatchObject({ ok: true, released: 300 });

    expect(await balanceOf(t.db, user.id)).toBe(250);
    expect(await takeBacksOf(user.id)).toMatchObject([{ amount: 50, pending: 0 }]);
    const released = (await ledgerOf(t.db, user.id)).filter((e) => e.operationKey === `release:${holdKey}`);
    expect(released.map((e) => [e.kind, e.delta])).toEqual([
      ['release', 300],
      ['revoke', -50],
    ]);
    expect(released[1]!.metadata).toEqual({ paymentId: payment.id, reversalId: 'stripe:re_half_held', kind: 'refund' });
    // The rest refunded: its share (250) is all unspent now.
    await apply([reversalOf(payment, { amount: 250, at: settledAt, reversalId: 're_rest' })], settledAt);
    expect(await reversalRow('stripe:re_rest')).toMatchObject({ creditsTakenBack: 250, creditsNotRecovered: 0 });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    await expectInvariants(t.db, user.id);
  });

  it('a capture of the held credits spends them: nothing is owed any more and nothing comes back', async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought });
    const holdKey = `captured-${user.id}`;
    await reserveCredits(t.db, { userId: user.id, amount: 300, key: holdKey, ttlSeconds: 600, now: reservedAt });
    await apply([reversalOf(payment, { amount: 500, at: refundedAt, reversalId: 're_then_captured' })]);
    expect(await takeBacksOf(user.id)).toMatchObject([{ amount: 300, pending: 300 }]);

    // 120 captured, 180 given back: the refund takes those 180, the 120 stay spent (not recovered).
    expect(await captureCredits(t.db, { holdKey, amount: 120, now: settledAt })).toMatchObject({ ok: true, captured: 120, released: 180 });

    expect(await balanceRowOf(t.db, user.id)).toMatchObject({ balance: 0, held: 0, totalConsumed: 500 });
    expect(await takeBacksOf(user.id)).toMatchObject([{ amount: 300, pending: 0 }]);
    expect((await revokes(user.id)).map((e) => e.delta)).toEqual([-200, -180]);
    await expectInvariants(t.db, user.id);
  });

  it('a refund redelivered owes nothing twice', async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought });
    await reserveCredits(t.db, { userId: user.id, amount: 300, key: `twice-${user.id}`, ttlSeconds: 600, now: reservedAt });
    const refund = reversalOf(payment, { amount: 500, at: refundedAt, reversalId: 're_held_twice' });
    await apply([refund]);
    expect(await apply([refund])).toMatchObject([{ result: 'replayed' }]);
    expect(await takeBacksOf(user.id)).toMatchObject([{ amount: 300, pending: 300 }]);
    await expectInvariants(t.db, user.id);
  });
});

describe('what a reversal refuses (the webhook answers 500 and the provider retries)', () => {
  it('a refund for a payment the app has not recorded throws and writes nothing, not even the event id', async () => {
    const user = await makeUser(t.db);
    await makePackPayment(t.db, { userId: user.id, now: bought });
    const before = await counts();
    const refund = reversalOf({ providerChargeId: 'pi_unknown', currency: 'usd' }, { amount: 500, at: refundedAt });
    await expect(
      applyBillingWebhook(
        t.db,
        { provider: 'stripe', eventId: 'evt_early', eventType: 'charge.refunded', events: [refund] },
        { now: refundedAt },
      ),
    ).rejects.toThrow(/no stripe payment/);
    expect(await counts()).toEqual(before);
    expect(await t.db.select().from(billingEvents).where(eq(billingEvents.eventId, 'evt_early'))).toEqual([]);
    await expectInvariants(t.db, user.id);
  });

  it("another provider's payment with the same ids is not this provider's", async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought, provider: 'creem', chargeId: 'tran_1' });
    await expect(apply([reversalOf(payment, { amount: 500, at: refundedAt })], refundedAt, 'stripe')).rejects.toThrow(/no stripe payment/);
    expect(await balanceOf(t.db, user.id)).toBe(500);
  });

  it("a refund in another currency than the payment's throws and writes nothing", async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: bought });
    const before = await counts();
    await expect(apply([reversalOf(payment, { amount: 500, at: refundedAt, currency: 'eur' })])).rejects.toThrow(/eur/);
    expect(await counts()).toEqual(before);
    expect(await balanceOf(t.db, user.id)).toBe(500);
  });

  it('the revoke key is the engine’s: no caller can spend or grant under it', () => {
    expect(refuseKey('revoke:stripe:re_1')).toMatchObject({ ok: false, reason: 'invalid_key' });
    expect(refuseKey('revoke:stripe:re_1', { forSpend: true })).toMatchObject({ ok: false, reason: 'invalid_key' });
  });
});

describe('plans paid for', () => {
  it('a yearly term refunded: its unspent installments are taken back, its schedule closed, and no later installment is granted', async () => {
    const user = await makeUser(t.db);
    const { payment, scheduleId } = await makeTermPayment(t.db, { userId: user.id, now: at('2026-01-15T00:00:00Z') });
    await processDueSchedules(t.db, { trigger: 'test', now: at('2026-02-15T00:00:00Z') });
    await processDueSchedules(t.db, { trigger: 'test', now: at('2026-03-15T00:00:00Z') });
    expect((await batchesOf(t.db, user.id)).map((b) => b.installment)).toEqual([1, 2, 3]);
    const refundDay = at('2026-03-20T00:00:00Z');
    expect((await spend(user.id, 100, refundDay)).ok).toBe(true);

    await apply([reversalOf(payment, { amount: payment.amount, at: refundDay, reversalId: 're_term' })], refundDay);

    // Installment 1 (granted Jan 15, valid 45 days) is past its expiry: the expire job's to record, not
    // taken back. Installments 2 and 3 held 833 + 833 − 100 spent.
    expect(await reversalRow('stripe:re_term')).toMatchObject({ creditsTakenBack: 1566, creditsNotRecovered: 2499 - 1566 });
    expect((await batchesOf(t.db, user.id)).map((b) => b.remaining)).toEqual([833, 0, 0]);
    const [schedule] = await t.db.select().from(creditSchedules).where(eq(creditSchedules.id, scheduleId));
    expect(schedule).toMatchObject({ status: 'canceled', nextDueAt: null, installmentsDone: 3 });
    await expectInvariants(t.db, user.id);

    await processDueSchedules(t.db, { trigger: 'test', now: at('2026-08-15T00:00:00Z') });
    await expireCredits(t.db, { trigger: 'test', now: at('2026-08-15T00:00:00Z') });
    expect((await batchesOf(t.db, user.id)).map((b) => b.installment)).toEqual([1, 2, 3]);
    expect(await balanceOf(t.db, user.id)).toBe(0);
    await expectInvariants(t.db, user.id);
  });

  it('a yearly term partly refunded takes from the installment that expires soonest, and still stops the installments to come', async () => {
    const user = await makeUser(t.db);
    const { payment, scheduleId } = await makeTermPayment(t.db, { userId: user.id, now: at('2026-01-15T00:00:00Z') });
    await processDueSchedules(t.db, { trigger: 'test', now: at('2026-02-15T00:00:00Z') });
    const refundDay = at('2026-02-20T00:00:00Z');
    await apply([reversalOf(payment, { amount: payment.amount / 2, at: refundDay, reversalId: 're_term_half' })], refundDay);
    expect(await reversalRow('stripe:re_term_half')).toMatchObject({ creditsTakenBack: 833, creditsNotRecovered: 0 });
    // Installment 1 expires on Mar 1, installment 2 on Apr 1.
    expect((await batchesOf(t.db, user.id)).map((b) => [b.installment, b.remaining])).toEqual([
      [1, 0],
      [2, 833],
    ]);
    expect(await paymentRow(payment.id)).toMatchObject({ amountRefunded: 9500, status: 'partially_refunded' });
    const [schedule] = await t.db.select().from(creditSchedules).where(eq(creditSchedules.id, scheduleId));
    expect(schedule).toMatchObject({ status: 'canceled', nextDueAt: null });
    await processDueSchedules(t.db, { trigger: 'test', now: at('2026-03-15T00:00:00Z') });
    expect(await batchesOf(t.db, user.id)).toHaveLength(2);
    await expectInvariants(t.db, user.id);
  });

  it('a lifetime plan refunded: this month’s unspent credits are taken back and the grant job grants no later month', async () => {
    const user = await makeUser(t.db);
    const payment = await makeLifetimePayment(t.db, { userId: user.id, now: at('2026-01-10T00:00:00Z') });
    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-01T01:00:00Z') });
    await spend(user.id, 200, at('2026-02-05T00:00:00Z'));
    const refundDay = at('2026-02-10T00:00:00Z');

    await apply([reversalOf(payment, { amount: payment.amount, at: refundDay, reversalId: 're_life' })], refundDay);

    // January's credits expired with January (not yet swept: the expire job's); February's 300 unspent are taken.
    expect(await reversalRow('stripe:re_life')).toMatchObject({ creditsTakenBack: 300, creditsNotRecovered: 700 });
    const [plan] = await t.db.select().from(subscriptions).where(eq(subscriptions.id, payment.id));
    expect(plan).toMatchObject({ status: 'canceled', canceledAt: refundDay });

    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-03-01T01:00:00Z') });
    const keys = (await batchesOf(t.db, user.id)).map((b) => b.idempotencyKey);
    expect(keys).toEqual([`lifetime:${payment.id}:2026-01`, `lifetime:${payment.id}:2026-02`, `free:${user.id}:2026-03`]);
    await expectInvariants(t.db, user.id);
  });

  it('a lifetime plan refunded on the 1st before the grant job ran: that month is not granted afterwards', async () => {
    const user = await makeUser(t.db);
    const payment = await makeLifetimePayment(t.db, { userId: user.id, now: at('2026-01-10T00:00:00Z') });
    const refundMoment = at('2026-02-01T00:30:00Z');
    await apply([reversalOf(payment, { amount: payment.amount, at: refundMoment })], refundMoment);
    const [plan] = await t.db.select().from(subscriptions).where(eq(subscriptions.id, payment.id));
    expect(plan).toMatchObject({ status: 'canceled', canceledAt: at('2026-02-01T00:00:00Z') });

    await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-01T01:00:00Z') });
    const keys = (await batchesOf(t.db, user.id)).map((b) => b.idempotencyKey);
    expect(keys).toEqual([`lifetime:${payment.id}:2026-01`, `free:${user.id}:2026-02`]);
    await expectInvariants(t.db, user.id);
  });

  it('a monthly period refunded: its unspent credits are taken back and the subscription stays as the provider left it', async () => {
    const user = await makeUser(t.db);
    const payment = await makePeriodPayment(t.db, { userId: user.id, now: bought });
    await spend(user.id, 400);
    await apply([reversalOf(payment, { amount: payment.amount, at: refundedAt, reversalId: 're_period' })]);
    expect(await reversalRow('stripe:re_period')).toMatchObject({ creditsTakenBack: 600, creditsNotRecovered: 400 });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    const [plan] = await t.db.select().from(subscriptions).where(eq(subscriptions.id, payment.subscriptionId!));
    expect(plan).toMatchObject({ status: 'active', canceledAt: null });
    await expectInvariants(t.db, user.id);
  });
});

// PGlite is one connection: only a Postgres server runs a refund and a spend of one user at once.
describe.runIf(onRealServer)('a refund racing a spend (Postgres server)', () => {
  it('a spend and two deliveries of one refund queued on the balance together, in either order: never a negative balance, the refund taken once', async () => {
    for (let round = 0; round < 12; round++) {
      await emptyCreditsTables(t.db);
      const user = await makeUser(t.db);
      const payment = await makePackPayment(t.db, {
        userId: user.id,
        now: bought,
        paymentId: `cs_race_${round}`,
        chargeId: `pi_race_${round}`,
      });
      const refund = reversalOf(payment, { amount: 500, at: refundedAt, reversalId: `re_race_${round}` });

      // Hold the user's balance row so that all three calls are in flight together, queued in the order
      // of this round (Postgres grants a row lock first come, first served), then let them go.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let held!: () => void;
      const holding = new Promise<void>((resolve) => (held = resolve));
      const blocker = transaction(t.db, async (tx) => {
        await lockBalance(tx, user.id);
        held();
        await gate;
      });
      await holding;
      const refundFirst = round % 2 === 1;
      const startSpend = () =>
        consumeCredits(t.db, { userId: user.id, amount: 100, reason: 'race', idempotencyKey: `race-${round}`, now: refundedAt });
      // The second delivery names the payment by other ids, as charge.refunded does after refund.created.
      const startRefunds = () => [reverseOnce(refund), reverseOnce({ ...refund, paymentRefs: [`ch_race_${round}`, `pi_race_${round}`] })];
      const calls: Promise<unknown>[] = [];
      if (refundFirst) {
        calls.push(...startRefunds());
        await waitForLockWaiters(2); // one refund on the balance, the other on the payment
        calls.push(startSpend());
      } else {
        calls.push(startSpend());
        await waitForLockWaiters(1);
        calls.push(...startRefunds());
      }
      await waitForLockWaiters(3);
      release();
      await blocker;
      const settled = await Promise.allSettled(calls);
      expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      const values = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value);
      const spent = values.find((v) => !('result' in (v as object))) as Awaited<ReturnType<typeof startSpend>>;
      const refunds = values.filter((v) => 'result' in (v as object)) as Awaited<ReturnType<typeof reverseOnce>>[];
      expect(refunds.map((r) => r.result).sort()).toEqual(['applied', 'replayed']);

      // The spend first: 400 left to take back, 100 spent. The refund first: all 500 taken, the spend refused.
      expect(spent.ok).toBe(!refundFirst);
      expect(await reversalRow(`stripe:re_race_${round}`)).toMatchObject(
        refundFirst ? { creditsTakenBack: 500, creditsNotRecovered: 0 } : { creditsTakenBack: 400, creditsNotRecovered: 100 },
      );
      expect(await balanceOf(t.db, user.id)).toBe(0);
      const [negative] = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from credit_ledger where balance_after < 0`);
      expect(negative!.n).toBe(0);
      expect(
        await t.db
          .select()
          .from(creditLedger)
          .where(eq(creditLedger.operationKey, `revoke:stripe:re_race_${round}`)),
      ).toHaveLength(1);
      expect(await ledgerChainBreaks(t.db, user.id)).toEqual([]);
      await expectInvariants(t.db);
    }
  });
});

/**
 * One reversal in its own transaction, as the dispatcher runs it but without its retry on deadlock: a
 * lock taken out of the global order (payment → plan → balance → batches) fails the race instead of being retried away.
 */
function reverseOnce(event: Parameters<typeof reversePayment>[1]) {
  return t.db.transaction((tx) =>
    reversePayment(tx as unknown as Database, event, { provider: 'stripe', now: refundedAt, config: creditsConfig, receipts: [] }),
  );
}

/** Waits until `n` sessions of this database wait on a lock (the race's calls are all in flight), with a deadline. */
async function waitForLockWaiters(n: number) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await queryRows<{ n: number }>(
      t.db,
      sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
    );
    if (row!.n >= n) return;
    if (Date.now() > deadline) throw new Error(`only ${row!.n} of ${n} sessions waiting on a lock`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function counts() {
  const [row] = await queryRows<Record<string, number>>(
    t.db,
    sql`select (select count(*) from credit_ledger)::int as ledger, (select count(*) from payment_reversals)::int as reversals,
               (select coalesce(sum(remaining), 0) from credit_batches)::int as remaining,
               (select coalesce(sum(amount_refunded), 0) from payments)::int as refunded`,
  );
  return row;
}
