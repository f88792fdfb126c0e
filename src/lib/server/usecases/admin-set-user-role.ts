import 'server-only';
import { eq } from 'drizzle-orm';
import { users } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import type { UserRole } from '@/lib/server/auth/roles';
import { auditedAdminAction, type Audited } from '@/lib/server/admin/audit';
import { setUserRole } from './set-user-role';

export type AdminSetUserRoleParams = { adminUserId: string; userId: string; role: UserRole; idempotencyKey: string; now?: Date };

export type AdminSetUserRoleOutcome =
  { ok: true; role: UserRole; changed: boolean } | { ok: false; reason: 'unknown_user' | 'cannot_change_own_role'; message: string };

/**
 * An admin makes another user an admin, or takes the role away, from the console (recorded). An admin
 * cannot change their own role, so the console never loses its last admin by a slip of the hand.
 */
export async function adminSetUserRole(db: Database, params: AdminSetUserRoleParams): Promise<Audited<AdminSetUserRoleOutcome>> {
  const now = params.now ?? new Date();
  const [target] = await db.select({ id: users.id }).from(users).where(eq(users.id, params.userId));
  return auditedAdminAction<AdminSetUserRoleOutcome>(
    db,
    {
      adminUserId: params.adminUserId,
      action: 'set_role',
      targetUserId: target?.id ?? null,
      params: { userId: params.userId, role: params.role },
      idempotencyKey: params.idempotencyKey,
      now,
      atomic: true,
    },
    async (tx, admin) => {
      if (!target) return { ok: false, reason: 'unknown_user', message: `No user "${params.userId}"` };
      if (target.id === admin.id) return { ok: false, reason: 'cannot_change_own_role', message: 'You cannot change your own role' };
      const result = await setUserRole(tx, { user: target.id, role: params.role, now });
      if (!result.ok) return result;
      return { ok: true, role: result.user.role, changed: result.changed };
    },
  );
}
