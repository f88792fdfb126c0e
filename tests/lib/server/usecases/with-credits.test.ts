import { describe, expect, it } from 'vitest';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceAndHeld, holdOf } from '@tests/helpers/holds';
import { withCredits } from '@/lib/server/usecases/with-credits';

const t = setupTestDatabase();

const now = at('2026-06-15T12:00:00Z');
const clock = () => now;

async function userWith(amount: number) {
  const user = await makeUser(t.db);
  await makeBatch(t.db, { userId: user.id, amount, now: at('2026-06-01T00:00:00Z') });
  return user;
}

describe('withCredits', () => {
  it('reserves the cost, runs the work with the hold, and captures it all on success', async () => {
    const user = await userWith(50);
    let seenDuringWork: unknown;
    const result = await withCredits(
      { db: t.db, userId: user.id, cost: 20, key: `ok-${user.id}`, reason: 'export', clock },
      async (hold) => {
        seenDuringWork = { hold: { key: hold.key, amount: hold.amount }, ...(await balanceAndHeld(t.db, user.id)) };
        return 'the export';
      },
    );
    expect(seenDuringWork).toEqual({ hold: { key: `ok-${user.id}`, amount: 20 }, balance: 30, held: 20 });
    expect(result).toEqual({ ok: true, replayed: false, value: 'the export', captured: 20, released: 0 });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 30, held: 0 });
    expect(await holdOf(t.db, `ok-${user.id}`)).toMatchObject({ status: 'captured', reason: 'export' });
    await expectInvariants(t.db, user.id);
  });

  it('captures only the cost the work reports and gives the rest back', async () => {
    const user = await userWith(50);
    const result = await withCredits({ db: t.db, userId: user.id, cost: 20, key: `actual-${user.id}`, clock }, async (hold) => {
      hold.setCost(7);
      return 42;
    });
    expect(result).toEqual({ ok: true, replayed: false, value: 42, captured: 7, released: 13 });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 43, held: 0 });
    await expectInvariants(t.db, user.id);
  });

  it('a work that reports a cost of 0 spends nothing', async () => {
    const user = await userWith(50);
    const result = await withCredits({ db: t.db, userId: user.id, cost: 20, key: `free-${user.id}`, clock }, async (hold) => {
      hold.setCost(0);
    });
    expect(result).toMatchObject({ ok: true, captured: 0, released: 20 });
    expect(await holdOf(t.db, `free-${user.id}`)).toMatchObject({ status: 'released' });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 50, held: 0 });
    await expectInvariants(t.db, user.id);
  });

  it('a reported cost above what was reserved is an error of the work: everything is released', async () => {
    const user = await userWith(50);
    await expect(
      withCredits({ db: t.db, userId: user.id, cost: 20, key: `over-${user.id}`, clock }, async (hold) => hold.setCost(21)),
    ).rejects.toThrow(RangeError);
    expect(await holdOf(t.db, `over-${user.id}`)).toMatchObject({ status: 'released' });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 50, held: 0 });
    await expectInvariants(t.db, user.id);
  });

  it('a work that throws gets everything released, and the error is thrown again', async () => {
    const user = await userWith(50);
    const failure = new Error('the generation failed');
    await expect(
      withCredits({ db: t.db, userId: user.id, cost: 20, key: `fails-${user.id}`, clock }, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await holdOf(t.db, `fails-${user.id}`)).toMatchObject({ status: 'released', released: 20 });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 50, held: 0 });
    await expectInvariants(t.db, user.id);
  });

  it('short of credits: insufficient_credits, and the work never runs', async () => {
    const user = await userWith(10);
    let ran = false;
    const result = await withCredits({ db: t.db, userId: user.id, cost: 11, key: `short-${user.id}`, clock }, async () => {
      ran = true;
    });
    expect(result).toEqual({ ok: false, reason: 'insufficient_credits', requested: 11, available: 10 });
    expect(ran).toBe(false);
    await expectInvariants(t.db, user.id);
  });

  it('the same key again does not run the work a second time', async () => {
    const user = await userWith(50);
    let runs = 0;
    const options = { db: t.db, userId: user.id, cost: 20, key: `twice-${user.id}`, clock };
    await withCredits(options, async () => ++runs);
    expect(await withCredits(options, async () => ++runs)).toEqual({ ok: true, replayed: true, status: 'captured' });
    expect(runs).toBe(1);
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 30, held: 0 });
    await expectInvariants(t.db, user.id);
  });

  it('a work that outlives its hold spends nothing: hold_expired with its value, the credits released', async () => {
    const user = await userWith(50);
    let time = now;
    const result = await withCredits(
      { db: t.db, userId: user.id, cost: 20, key: `slow-${user.id}`, ttlSeconds: 30, clock: () => time },
      async () => {
        time = at('2026-06-15T12:00:30Z');
        return 'late';
      },
    );
    expect(result).toMatchObject({ ok: false, reason: 'hold_expired', value: 'late' });
    expect(await holdOf(t.db, `slow-${user.id}`)).toMatchObject({ status: 'expired' });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 50, held: 0 });
    await expectInvariants(t.db, user.id);
  });
});
