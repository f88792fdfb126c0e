import 'server-only';
import { isDeepStrictEqual } from 'node:util';
import { eq } from 'drizzle-orm';
import { adminAudit, users, type AdminAction } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { transaction } from '@/lib/server/db/sql';
import { hasAdminRole } from '@/lib/server/auth/roles';
import { MAX_KEY_LENGTH } from '@/lib/server/credits/keys';

/** Who acted, as the audit row keeps them. */
export type Admin = { id: string; email: string };

/** An outcome every admin action records: `ok`, and for a refusal its reason and message. */
type Outcome = { ok: boolean };

/** Why an admin action did not even start; only `idempotency_conflict` and `in_progress` concern a key already used. */
export type AdminRefusal = {
  ok: false;
  reason: 'not_admin' | 'invalid_key' | 'idempotency_conflict' | 'in_progress';
  message: string;
};

/** The action's own outcome, with the audit row that records it; `replayed` when the key had already been used for it. */
export type Audited<O extends Outcome> = (O & { auditId: string; replayed: boolean }) | AdminRefusal;

export type AuditedActionParams = {
  adminUserId: string;
  action: AdminAction;
  /** Must exist when given (a foreign key): an action on an unknown user records null and says so in its outcome. */
  targetUserId?: string | null;
  targetJobRunId?: string | null;
  /** What the admin asked for: the same key with other params is refused (`idempotency_conflict`). */
  params: Record<string, unknown>;
  idempotencyKey: string;
  now: Date;
  /**
   * True: the action and its audit row are one transaction (the action writes only to this database,
   * e.g. a credit adjustment). False: the key is claimed by a committed row first, the action runs
   * (a job's chunks commit one by one; the auth plugin writes on its own connection), then the outcome is
   * written: a second submit meanwhile is answered `in_progress` instead of acting again.
   */
  atomic: boolean;
};

/**
 * Runs one admin action under its idempotency key and records it in `admin_audit`: who (id and e-mail
 * at the time), what, on whom, the params, and the outcome (a refusal included). The actor must hold
 * the admin role in the database now, whatever their session says; a non-admin is refused and nothing
 * is written. The same key and params again replay the recorded outcome and change nothing.
 */
export async function auditedAdminAction<O extends Outcome>(
  db: Database,
  params: AuditedActionParams,
  perform: (db: Database, admin: Admin) => Promise<O>,
): Promise<Audited<O>> {
  const key = params.idempotencyKey;
  if (typeof key !== 'string' || key.trim() === '' || key.length > MAX_KEY_LENGTH) {
    return { ok: false, reason: 'invalid_key', message: `an idempotency key of 1 to ${MAX_KEY_LENGTH} characters is required` };
  }
  const [actor] = await db
    .select({ id: users.id, email: users.email, role: users.role, banned: users.banned })
    .from(users)
    .where(eq(users.id, params.adminUserId));
  if (!actor || !hasAdminRole(actor.role) || actor.banned) {
    console.warn(`[admin] refused ${params.action} by ${params.adminUserId}: not an admin`);
    return { ok: false, reason: 'not_admin', message: 'Only an admin can do this' };
  }
  const admin = { id: actor.id, email: actor.email };
  // As the database gives it back (JSON: no undefined, dates as strings), so a replay compares like with like.
  const requested = toJson(params.params);
  const row = {
    adminUserId: admin.id,
    adminEmail: admin.email,
    action: params.action,
    targetUserId: params.targetUserId ?? null,
    targetJobRunId: params.targetJobRunId ?? null,
    params: requested,
    idempotencyKey: key,
    createdAt: params.now,
  };

  const run = async (tx: Database): Promise<Audited<O>> => {
    // The key's claim: a concurrent submit of the same key waits here for this one, then replays it.
    const [claimed] = await tx.insert(adminAudit).values(row).onConflictDoNothing({ target: adminAudit.idempotencyKey }).returning();
    if (!claimed) return replay(tx, row);
    let outcome: O;
    try {
      outcome = await perform(tx, admin);
    } catch (error) {
      // Non-atomic: the claim is committed; say it failed (the detail is in the log), then let it surface.
      if (!params.atomic) await finish(tx, claimed.id, { ok: false, reason: 'failed', message: 'failed unexpectedly: see the server log' });
      throw error;
    }
    await finish(tx, claimed.id, outcome);
    return { ...outcome, auditId: claimed.id, replayed: false };
  };
  return params.atomic ? transaction(db, run) : run(db);
}

async function finish(db: Database, id: string, outcome: object) {
  await db
    .update(adminAudit)
    .set({ outcome: toJson(outcome), completedAt: new Date() })
    .where(eq(adminAudit.id, id));
}

async function replay<O extends Outcome>(
  db: Database,
  request: Pick<typeof adminAudit.$inferInsert, 'adminUserId' | 'action' | 'targetUserId' | 'targetJobRunId' | 'params' | 'idempotencyKey'>,
): Promise<Audited<O>> {
  const [existing] = await db.select().from(adminAudit).where(eq(adminAudit.idempotencyKey, request.idempotencyKey));
  const same =
    existing &&
    existing.adminUserId === request.adminUserId &&
    existing.action === request.action &&
    existing.targetUserId === request.targetUserId &&
    existing.targetJobRunId === request.targetJobRunId &&
    isDeepStrictEqual(existing.params, request.params);
  if (!same) {
    return {
      ok: false,
      reason: 'idempotency_conflict',
      message: 'This form was already used for another action: reload the page and try again',
    };
  }
  if (existing.outcome === null) {
    return {
      ok: false,
      reason: 'in_progress',
      message: 'This action is still running (the form was sent twice): reload the page in a moment',
    };
  }
  return { ...(existing.outcome as O), auditId: existing.id, replayed: true };
}

function toJson<T>(value: T): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}
