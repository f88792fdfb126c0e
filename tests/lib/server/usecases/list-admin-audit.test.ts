import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { listAdminAudit } from '@/lib/server/usecases/list-admin-audit';
import { adminAdjustCredits } from '@/lib/server/usecases/admin-adjust-credits';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeAdmin, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';

const t = setupTestDatabase();

describe('listAdminAudit', () => {
  it('lists every admin action newest first, a page at a time, with the target’s e-mail; one user’s actions on demand', async () => {
    const admin = await makeAdmin(t.db);
    const [ann, bob] = [await makeUser(t.db), await makeUser(t.db)];
    const adjust = (userId: string, delta: number, minute: number) =>
      adminAdjustCredits(t.db, {
        adminUserId: admin.id,
        userId,
        delta,
        reason: 'r',
        idempotencyKey: randomUUID(),
        now: at(`2026-02-10T09:0${minute}:00Z`),
      });
    await adjust(ann.id, 10, 1);
    await adjust(bob.id, 20, 2);
    await adjust(ann.id, -500, 3); // refused: recorded too

    const page = await listAdminAudit(t.db, { pageSize: 2 });
    expect(page.rows.map((r) => [r.targetEmail, r.params.delta, r.outcome?.ok])).toEqual([
      [ann.email, -500, false],
      [bob.email, 20, true],
    ]);
    expect(page.rows[0]).toMatchObject({ adminEmail: admin.email, action: 'adjust_credits' });
    expect(page.hasNextPage).toBe(true);
    expect((await listAdminAudit(t.db, { pageSize: 2, page: 2 })).rows.map((r) => r.params.delta)).toEqual([10]);
    expect((await listAdminAudit(t.db, { targetUserId: ann.id })).rows.map((r) => r.params.delta)).toEqual([-500, 10]);
    await expectInvariants(t.db);
  });
});
