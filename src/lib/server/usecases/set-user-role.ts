import 'server-only';
import { eq, or, sql } from 'drizzle-orm';
import { users } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { ADMIN_ROLE, hasAdminRole, type UserRole } from '@/lib/server/auth/roles';

export type SetUserRoleParams = {
  /** The user's id, or their e-mail (case-insensitive). */
  user: string;
  role: UserRole;
  now?: Date;
};

export type SetUserRoleResult =
  | { ok: true; user: { id: string; email: string; role: UserRole }; changed: boolean }
  | { ok: false; reason: 'unknown_user'; message: string };

/**
 * Makes a user an admin of the console, or takes the role away: what `ADMIN_EMAILS` does at sign-in,
 * the console's role form and the operator's CLI all go through here. Setting the role a user already
 * has changes nothing (`changed: false`), so it is safe to repeat.
 */
export async function setUserRole(db: Database, params: SetUserRoleParams): Promise<SetUserRoleResult> {
  const [user] = await db
    .select({ id: users.id, email: users.email, role: users.role })
    .from(users)
    .where(or(eq(users.id, params.user), sql`lower(${users.email}) = lower(${params.user})`))
    .limit(1);
  if (!user) return { ok: false, reason: 'unknown_user', message: `No user with id or e-mail "${params.user}"` };
  const isAdmin = hasAdminRole(user.role);
  if (isAdmin === (params.role === ADMIN_ROLE)) return { ok: true, user: { ...user, role: params.role }, changed: false };
  await db
    .update(users)
    .set({ role: params.role, updatedAt: params.now ?? new Date() })
    .where(eq(users.id, user.id));
  return { ok: true, user: { ...user, role: params.role }, changed: true };
}
