import { describe, expect, it } from 'vitest';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceAndHeld, holdOf } from '@tests/helpers/holds';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';
import { withCredits } from '@/lib/server/usecases/with-credits';

// Review of withCredits (issue 14): rules the author's tests did not state; all pass on the reviewed code.
const t = setupTestDatabase();

const now = at('2026-06-15T12:00:00Z');

async function userWith(amount: number) {
  const user = await makeUser(t.db);
  await makeBatch(t.db, { userId: user.id, amount, now: at('2026-06-01T00:00:00Z') });
  return user;
}

describe('withCredits (review)', () => {
  it('a work that reported a partial cost and then throws spends nothing: everything is released and the error thrown again', async () => {
    const user = await userWith(50);
    const key = `partial-throw-${user.id}`;
    await expect(
      withCredits({ db: t.db, userId: user.id, cost: 20, key, clock: () => now }, async (hold) => {
        hold.setCost(5);
        throw new Error('generation failed');
      }),
    ).rejects.toThrow('generation failed');
    expect(await holdOf(t.db, key)).toMatchObject({ status: 'released', captured: 0, released: 20 });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 50, held: 0 });
    await expectInvariants(t.db, user.id);
  });

  it('a work whose hold the user’s next reserve released (timed out) while it ran gets hold_expired, and the user is charged only once for the next', async () => {
    const user = await userWith(50);
    let time = now;
    const result = await withCredits(
      { db: t.db, userId: user.id, cost: 30, key: `slow-${user.id}`, ttlSeconds: 10, clock: () => time },
      async () => {
        time = at('2026-06-15T12:00:20Z');
        // Another request of the same user reserves after this hold's time: it releases it first.
        expect(await reserveCredits(t.db, { userId: user.id, amount: 40, key: `next-${user.id}`, now: time })).toMatchObject({ ok: true });
        return 'late';
      },
    );
    expect(result).toMatchObject({ ok: false, reason: 'hold_expired', value: 'late' });
    expect(await holdOf(t.db, `slow-${user.id}`)).toMatchObject({ status: 'expired', captured: 0, released: 30 });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 10, held: 40 });
    await expectInvariants(t.db, user.id);
  });

  it('a work that throws after its hold timed out and was released throws its own error; nothing is released twice', async () => {
    const user = await userWith(50);
    let time = now;
    const key = `late-throw-${user.id}`;
    await expect(
      withCredits({ db: t.db, userId: user.id, cost: 30, key, ttlSeconds: 10, clock: () => time }, async () => {
        time = at('2026-06-15T12:00:20Z');
        await reserveCredits(t.db, { userId: user.id, amount: 1, key: `other-${user.id}`, now: time });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await holdOf(t.db, key)).toMatchObject({ status: 'expired', released: 30 });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 49, held: 1 });
    await expectInvariants(t.db, user.id);
  });
});
