import 'server-only';
import { and, desc, eq } from 'drizzle-orm';
import { adminAudit, users } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';

/** A page of the admin audit trail, newest first; one user's rows with `targetUserId`. */
export async function listAdminAudit(db: Database, params: { page?: number; pageSize?: number; targetUserId?: string } = {}) {
  const pageSize = Math.min(Math.max(params.pageSize ?? 50, 1), 100);
  const page = Math.max(params.page ?? 1, 1);
  const rows = await db
    .select({
      id: adminAudit.id,
      createdAt: adminAudit.createdAt,
      completedAt: adminAudit.completedAt,
      adminUserId: adminAudit.adminUserId,
      adminEmail: adminAudit.adminEmail,
      action: adminAudit.action,
      targetUserId: adminAudit.targetUserId,
      targetEmail: users.email,
      targetJobRunId: adminAudit.targetJobRunId,
      params: adminAudit.params,
      outcome: adminAudit.outcome,
      idempotencyKey: adminAudit.idempotencyKey,
    })
    .from(adminAudit)
    .leftJoin(users, eq(users.id, adminAudit.targetUserId))
    .where(and(params.targetUserId ? eq(adminAudit.targetUserId, params.targetUserId) : undefined))
    .orderBy(desc(adminAudit.createdAt), desc(adminAudit.id))
    .limit(pageSize + 1)
    .offset((page - 1) * pageSize);
  return { rows: rows.slice(0, pageSize), page, hasNextPage: rows.length > pageSize };
}

export type AdminAuditEntry = Awaited<ReturnType<typeof listAdminAudit>>['rows'][number];
