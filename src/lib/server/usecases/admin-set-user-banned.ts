import 'server-only';
import { eq } from 'drizzle-orm';
import { isAPIError } from 'better-auth/api';
import { users } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import type { Auth } from '@/lib/server/auth/auth';
import { auditedAdminAction, type Audited } from '@/lib/server/admin/audit';

export type AdminSetUserBannedParams = {
  adminUserId: string;
  userId: string;
  banned: boolean;
  /** Why (a ban only); kept by the auth plugin on the user and in the audit row. */
  reason?: string;
  /** The auth instance and the admin's own request headers: the plugin's endpoints act for a signed-in admin. */
  auth: Auth;
  headers: Headers;
  idempotencyKey: string;
  now?: Date;
};

export type AdminSetUserBannedOutcome =
  { ok: true; banned: boolean } | { ok: false; reason: 'unknown_user' | 'cannot_ban_yourself' | 'auth_refused'; message: string };

/**
 * Bans or unbans a user through Better Auth's admin plugin (`banUser` ends every session of the user and
 * refuses their next sign-in; `unbanUser` lifts it), and records it. Both set a state, so a repeat
 * changes nothing; the audit row is keyed, so a double submit is recorded once.
 */
export async function adminSetUserBanned(db: Database, params: AdminSetUserBannedParams): Promise<Audited<AdminSetUserBannedOutcome>> {
  const now = params.now ?? new Date();
  const [target] = await db.select({ id: users.id }).from(users).where(eq(users.id, params.userId));
  const reason = params.reason?.trim() || null;
  return auditedAdminAction<AdminSetUserBannedOutcome>(
    db,
    {
      adminUserId: params.adminUserId,
      action: params.banned ? 'ban_user' : 'unban_user',
      targetUserId: target?.id ?? null,
      params: { userId: params.userId, ...(params.banned ? { reason } : {}) },
      idempotencyKey: params.idempotencyKey,
      now,
      // The plugin writes through its own adapter, outside any transaction of ours.
      atomic: false,
    },
    async (_db, admin) => {
      if (!target) return { ok: false, reason: 'unknown_user', message: `No user "${params.userId}"` };
      if (params.banned && target.id === admin.id) return { ok: false, reason: 'cannot_ban_yourself', message: 'You cannot ban yourself' };
      try {
        if (params.banned) {
          await params.auth.api.banUser({ body: { userId: target.id, ...(reason ? { banReason: reason } : {}) }, headers: params.headers });
        } else {
          await params.auth.api.unbanUser({ body: { userId: target.id }, headers: params.headers });
        }
      } catch (error) {
        if (!isAPIError(error) || error.statusCode >= 500) throw error;
        return { ok: false, reason: 'auth_refused', message: error.body?.message ?? 'The auth library refused' };
      }
      return { ok: true, banned: params.banned };
    },
  );
}
