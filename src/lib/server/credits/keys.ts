import { sql, type SQL } from 'drizzle-orm';
import { utcDateKey, utcMonthKey } from './time';

// Idempotency keys, exactly as docs/credits.md names them, for TypeScript (`creditKeys`) and for the
// jobs' set-based SQL (`creditKeysSql`, each part an SQL expression): one place for both.
export const creditKeys = {
  signup: (userId: string) => `signup:${userId}`,
  free: (userId: string, month: Date) => `free:${userId}:${utcMonthKey(month)}`,
  subscriptionPeriod: (subscriptionId: string, periodStart: Date) => `subscription:${subscriptionId}:${utcDateKey(periodStart)}`,
  lifetimeMonth: (subscriptionId: string, month: Date) => `lifetime:${subscriptionId}:${utcMonthKey(month)}`,
  installment: (scheduleId: string, n: number) => `schedule:${scheduleId}:${n}`,
  purchase: (purchaseId: string) => `purchase:${purchaseId}`,
  /** An adjustment made in the admin console, under the key its form was rendered with. */
  adminConsoleAdjustment: (formKey: string) => `admin:console:${formKey}`,
  /** The operation key of what a refund or dispute took back (its entries, one per batch; no operation row). */
  revoke: (provider: string, reversalId: string) => `revoke:${provider}:${reversalId}`,
};

/** The same keys built in SQL from column expressions (dates as UTC timestamptz). */
export const creditKeysSql = {
  free: (userId: SQL, month: SQL) => sql`'free:' || ${userId} || ':' || to_char(${month}, 'YYYY-MM')`,
  subscriptionPeriod: (subscriptionId: SQL, periodStart: SQL) =>
    sql`'subscription:' || ${subscriptionId} || ':' || to_char(${periodStart}, 'YYYY-MM-DD')`,
  lifetimeMonth: (subscriptionId: SQL, month: SQL) => sql`'lifetime:' || ${subscriptionId} || ':' || to_char(${month}, 'YYYY-MM')`,
  installment: (scheduleId: SQL, n: SQL) => sql`'schedule:' || ${scheduleId} || ':' || ${n}`,
  /** The key of a batch's expiry entry. */
  expire: (batchId: SQL) => sql`'expire:' || ${batchId}`,
  /** The key of a batch's void entry, per voided run. */
  void: (jobRunId: string, batchId: SQL) => sql`'void:' || ${jobRunId} || ':' || ${batchId}`,
};

/**
 * Ledger operation keys the engine writes itself, with no operation row (`expire:{batchId}`,
 * `void:{jobRunId}:{batchId}`, `revoke:{provider}:{reversalId}`, and a hold's `capture:{holdKey}` and
 * `release:{holdKey}`, written by the hold functions of migration 0010): a caller's key may not start
 * with them, or its entries would mix with the engine's under one operation key.
 */
export const ENGINE_KEY_PREFIXES = ['expire:', 'void:', 'revoke:', 'capture:', 'release:'] as const;

/** Prefixes of the keys the engine's grants use (above): a spend may not take one, or it would block that grant. */
export const GRANT_KEY_PREFIXES = ['signup:', 'free:', 'subscription:', 'lifetime:', 'schedule:', 'purchase:'] as const;

/** The longest key accepted: provider ids and composed keys fit many times over. */
export const MAX_KEY_LENGTH = 255;

/** Why a caller's key cannot be used, or null when it can. A spend (`forSpend`) may not use a grant's prefix either. */
export function refuseKey(key: string, options: { forSpend?: boolean } = {}): { ok: false; reason: 'invalid_key'; message: string } | null {
  if (typeof key !== 'string' || key.trim() === '') return { ok: false, reason: 'invalid_key', message: 'an idempotency key is required' };
  if (key.length > MAX_KEY_LENGTH)
    return { ok: false, reason: 'invalid_key', message: `an idempotency key is at most ${MAX_KEY_LENGTH} characters` };
  const reserved = options.forSpend ? [...ENGINE_KEY_PREFIXES, ...GRANT_KEY_PREFIXES] : ENGINE_KEY_PREFIXES;
  const prefix = reserved.find((p) => key.startsWith(p));
  if (prefix) return { ok: false, reason: 'invalid_key', message: `keys starting with "${prefix}" are the engine's own` };
  return null;
}
