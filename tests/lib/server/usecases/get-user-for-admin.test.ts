import { describe, expect, it } from 'vitest';
import { getUserForAdmin } from '@/lib/server/usecases/get-user-for-admin';
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

  it('is null for an unknown user', async () => {
    expect(await getUserForAdmin(t.db, { userId: 'nobody' })).toBeNull();
  });
});
