import 'server-only';
import { eq } from 'drizzle-orm';
import { users, type CreditCategory } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { auditedAdminAction, type Audited } from '@/lib/server/admin/audit';
import { creditKeys } from '@/lib/server/credits/keys';
import { adjustCredits } from './adjust-credits';

export type AdminAdjustCreditsParams = {
  adminUserId: string;
  userId: string;
  /** Positive: credits given (a new batch). Negative: taken back in burn-down order, never below zero. */
  delta: number;
  reason: string;
  /** For a positive adjustment: days until the credits expire (null or absent: never). */
  validityDays?: number | null;
  category?: CreditCategory;
  /** The key the console's form was rendered with. */
  idempotencyKey: string;
  now?: Date;
};

export type AdminAdjustOutcome =
  | { ok: true; delta: number; balanceAfter: number | null; operationKey: string }
  | { ok: false; reason: 'insufficient_credits'; requested: number; available: number; message: string }
  | {
      ok: false;
      reason: 'unknown_user' | 'invalid_reason' | 'invalid_amount' | 'amount_out_of_range' | 'balance_out_of_range';
      message: string;
    }
  | { ok: false; reason: 'invalid_key' | 'invalid_expiry' | 'idempotency_conflict'; message: string };

/**
 * An admin's adjustment from the console: an `adjust` entry through `adjustCredits`, naming the admin
 * in its metadata (`actor: admin:{email}`), and its audit row, in one transaction. A deduction larger
 * than what the user can spend is refused (`insufficient_credits`), writes no credits, and is recorded.
 */
export async function adminAdjustCredits(db: Database, params: AdminAdjustCreditsParams): Promise<Audited<AdminAdjustOutcome>> {
  const now = params.now ?? new Date();
  const [target] = await db.select({ id: users.id }).from(users).where(eq(users.id, params.userId));
  const reason = params.reason.trim();
  const operationKey = creditKeys.adminConsoleAdjustment(params.idempotencyKey);
  return auditedAdminAction<AdminAdjustOutcome>(
    db,
    {
      adminUserId: params.adminUserId,
      action: 'adjust_credits',
      targetUserId: target?.id ?? null,
      params: {
        userId: params.userId,
        delta: params.delta,
        reason,
        validityDays: params.validityDays ?? null,
        category: params.category ?? 'promotional',
      },
      idempotencyKey: params.idempotencyKey,
      now,
      atomic: true,
    },
    async (tx, admin) => {
      if (!target) return { ok: false, reason: 'unknown_user', message: `No user "${params.userId}"` };
      if (reason === '') return { ok: false, reason: 'invalid_reason', message: 'A reason is required' };
      const result = await adjustCredits(tx, {
        userId: target.id,
        delta: params.delta,
        reason,
        validityDays: params.validityDays ?? null,
        category: params.category,
        idempotencyKey: operationKey,
        actor: `admin:${admin.email}`,
        now,
      });
      if (result.ok) {
        const balanceAfter = 'balanceAfter' in result ? result.balanceAfter : null;
        return { ok: true, delta: params.delta, balanceAfter, operationKey };
      }
      if (result.reason === 'insufficient_credits') {
        return {
          ...result,
          message: `The user can spend ${result.available} credits, fewer than the ${result.requested} to deduct: nothing was taken`,
        };
      }
      return result;
    },
  );
}
