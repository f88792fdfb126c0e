import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { adminAudit } from '@/lib/server/db/schema';
import { pgErrorCode } from '@/lib/server/db/sql';
import { adminAdjustCredits } from '@/lib/server/usecases/admin-adjust-credits';
import { setupTestDatabase } from '@tests/helpers/db';
import { makeAdmin, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';

const t = setupTestDatabase();

const refusal = async (write: Promise<unknown>) => {
  try {
    await write;
  } catch (error) {
    return pgErrorCode(error);
  }
  return 'written';
};

describe('the admin audit trail', () => {
  it('is append-only: a recorded row cannot be rewritten or deleted, by anyone', async () => {
    const admin = await makeAdmin(t.db);
    const user = await makeUser(t.db);
    const key = randomUUID();
    await adminAdjustCredits(t.db, { adminUserId: admin.id, userId: user.id, delta: 5, reason: 'r', idempotencyKey: key });
    const row = eq(adminAudit.idempotencyKey, key);

    expect(
      await refusal(
        t.db
          .update(adminAudit)
          .set({ outcome: { ok: false } })
          .where(row),
      ),
    ).toBe('23001');
    expect(
      await refusal(
        t.db
          .update(adminAudit)
          .set({ params: { delta: 5000 } })
          .where(row),
      ),
    ).toBe('23001');
    expect(await refusal(t.db.delete(adminAudit).where(row))).toBe('23001');
    expect((await t.db.select().from(adminAudit).where(row))[0]).toMatchObject({ params: { delta: 5 }, outcome: { ok: true } });
    await expectInvariants(t.db);
  });

  it('a row still running is completed once with its outcome, and only that', async () => {
    const admin = await makeAdmin(t.db);
    const [pending] = await t.db
      .insert(adminAudit)
      .values({ adminUserId: admin.id, adminEmail: admin.email, action: 'run_job', params: { job: 'grant' }, idempotencyKey: randomUUID() })
      .returning();
    const row = eq(adminAudit.id, pending!.id);

    expect(
      await refusal(
        t.db
          .update(adminAudit)
          .set({ params: { job: 'expire' }, outcome: { ok: true } })
          .where(row),
      ),
    ).toBe('23001');
    expect(
      await refusal(
        t.db
          .update(adminAudit)
          .set({ outcome: { ok: true }, completedAt: new Date() })
          .where(row),
      ),
    ).toBe('written');
  });
});
