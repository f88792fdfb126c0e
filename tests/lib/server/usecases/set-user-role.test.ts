import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { adminAudit, users } from '@/lib/server/db/schema';
import { setUserRole } from '@/lib/server/usecases/set-user-role';
import { adminSetUserRole } from '@/lib/server/usecases/admin-set-user-role';
import { setupTestDatabase } from '@tests/helpers/db';
import { makeAdmin, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';

const t = setupTestDatabase();
const roleOf = async (id: string) => (await t.db.select({ role: users.role }).from(users).where(eq(users.id, id)))[0]!.role;

describe('setUserRole (ADMIN_EMAILS, the CLI)', () => {
  it('promotes a user by e-mail (any case) or id, once: a second call changes nothing', async () => {
    const user = await makeUser(t.db);
    expect(await setUserRole(t.db, { user: user.email.toUpperCase(), role: 'admin' })).toMatchObject({
      ok: true,
      changed: true,
      user: { id: user.id, role: 'admin' },
    });
    expect(await roleOf(user.id)).toBe('admin');
    expect(await setUserRole(t.db, { user: user.id, role: 'admin' })).toMatchObject({ ok: true, changed: false });
    expect(await setUserRole(t.db, { user: user.id, role: 'user' })).toMatchObject({ ok: true, changed: true });
    expect(await roleOf(user.id)).toBe('user');
    await expectInvariants(t.db);
  });

  it('refuses an unknown user', async () => {
    expect(await setUserRole(t.db, { user: 'nobody@example.test', role: 'admin' })).toMatchObject({ ok: false, reason: 'unknown_user' });
  });
});

describe('adminSetUserRole (the console)', () => {
  it('an admin makes another user an admin, recorded; never changes their own role; a non-admin is refused with nothing written', async () => {
    const admin = await makeAdmin(t.db);
    const user = await makeUser(t.db);
    const key = randomUUID();

    expect(await adminSetUserRole(t.db, { adminUserId: admin.id, userId: user.id, role: 'admin', idempotencyKey: key })).toMatchObject({
      ok: true,
      changed: true,
    });
    expect(await roleOf(user.id)).toBe('admin');
    expect((await t.db.select().from(adminAudit).where(eq(adminAudit.idempotencyKey, key)))[0]).toMatchObject({
      action: 'set_role',
      targetUserId: user.id,
      outcome: { ok: true, role: 'admin' },
    });
    expect(
      await adminSetUserRole(t.db, { adminUserId: admin.id, userId: admin.id, role: 'user', idempotencyKey: randomUUID() }),
    ).toMatchObject({
      ok: false,
      reason: 'cannot_change_own_role',
    });
    expect(await roleOf(admin.id)).toBe('admin');

    const plain = await makeUser(t.db);
    const refusedKey = randomUUID();
    expect(
      await adminSetUserRole(t.db, { adminUserId: plain.id, userId: plain.id, role: 'admin', idempotencyKey: refusedKey }),
    ).toMatchObject({ ok: false, reason: 'not_admin' });
    expect(await roleOf(plain.id)).toBeNull();
    expect(await t.db.select().from(adminAudit).where(eq(adminAudit.idempotencyKey, refusedKey))).toEqual([]);
    await expectInvariants(t.db);
  });
});
