import { describe, expect, it } from 'vitest';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { getUserForAdmin } from '@/lib/server/usecases/get-user-for-admin';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeSubscription, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';

const t = setupTestDatabase();

describe('getUserForAdmin', () => {
  it('shows who the user is, the summary they see, their batches (remaining, expiry) and subscriptions', async () => {
    const now = at('2026-02-10T09:00:00Z');
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 40, expiresAt: at('2026-03-01T00:00:00Z'), now });
    await makeSubscription(t.db, { userId: user.id, planId: 'pro-monthly', now });

    const view = await getUserForAdmin(t.db, { userId: user.id, now });

    expect(view!.user).toMatchObject({ id: user.id, email: user.email, role: null, banned: false });
    expect(view!.summary).toMatchObject({ balance: 1_040, available: 1_040 });
    expect(view!.batches.map((b) => [b.source, b.remaining, b.expiresAt?.toISOString() ?? null])).toEqual([
      ['subscription', 1_000, expect.any(String)],
      ['admin', 40, '2026-03-01T00:00:00.000Z'],
    ]);
    expect(view!.subscriptions.map((s) => [s.planId, s.status])).toEqual([['pro-monthly', 'active']]);
    expect(view!.payments).toEqual([]);
    await expectInvariants(t.db);
  });

  it('shows the credits held by work in progress, so balance + held adds up to the totals', async () => {
    const now = at('2026-02-10T09:00:00Z');
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 100, now });
    await consumeCredits(t.db, { userId: user.id, amount: 10, reason: 'x', idempotencyKey: `spent-${user.id}`, now });
    expect(await reserveCredits(t.db, { userId: user.id, amount: 30, key: `held-${user.id}`, now })).toMatchObject({ ok: true });

    const { summary } = (await getUserForAdmin(t.db, { userId: user.id, now }))!;

    expect(summary).toMatchObject({ balance: 60, held: 30, totals: { granted: 100, consumed: 10, expired: 0 } });
    expect(summary.balance + summary.held).toBe(summary.totals.granted - summary.totals.consumed - summary.totals.expired);
    await expectInvariants(t.db, user.id);
  });

  it('is null for an unknown user', async () => {
    expect(await getUserForAdmin(t.db, { userId: 'nobody' })).toBeNull();
  });
});
