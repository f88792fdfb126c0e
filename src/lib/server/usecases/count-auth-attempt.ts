import 'server-only';
import { and, eq, inArray, lte, sql } from 'drizzle-orm';
import { authRateLimitFor, type AuthRateLimitRule } from '@/config/rate-limits';
import { authRateLimits } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';

export type CountAuthAttemptParams = {
  /** The Better Auth endpoint's path (`/sign-in/email`), whether a form or an HTTP request reached it. */
  path: string;
  /** The client's address from the trusted IP header, or null when there is none to trust. */
  ip: string | null;
  /** The e-mail the request names (already lower-cased), or null. */
  email: string | null;
  now: Date;
};

export type CountAuthAttemptResult =
  { ok: true; rule: string | null } | { ok: false; reason: 'too_many_attempts'; rule: string; retryAfterSeconds: number };

/** Expired rows an attempt that opens a new window deletes, at most: rows are created no faster than windows open. */
export const PRUNE_BATCH_SIZE = 1_000;

/**
 * Counts one attempt at an endpoint the rate limit covers (src/config/rate-limits.ts) against its
 * client address and its e-mail, and refuses it once either has made more than its rule allows in the
 * current window. Both counters move in one statement (an upsert that starts a new window when the old
 * one has ended), so concurrent attempts on any number of instances never both see a stale count.
 * Refused attempts count too: an attacker who keeps trying stays refused until the window ends.
 */
export async function countAuthAttempt(db: Database, params: CountAuthAttemptParams): Promise<CountAuthAttemptResult> {
  const rule = authRateLimitFor(params.path);
  if (!rule) return { ok: true, rule: null };
  const buckets = bucketsOf(rule, params);
  if (buckets.length === 0) return { ok: true, rule: rule.name };

  const windowEnded = sql`${authRateLimits.resetsAt} <= ${params.now.toISOString()}::timestamptz`;
  const rows = await db
    .insert(authRateLimits)
    .values(buckets.map((b) => ({ key: b.key, count: 1, resetsAt: new Date(params.now.getTime() + b.limit.windowSeconds * 1000) })))
    .onConflictDoUpdate({
      target: authRateLimits.key,
      // Both expressions read the row as it was before this attempt.
      set: {
        count: sql`case when ${windowEnded} then 1 else ${authRateLimits.count} + 1 end`,
        resetsAt: sql`case when ${windowEnded} then excluded.resets_at else ${authRateLimits.resetsAt} end`,
      },
    })
    .returning();

  if (rows.some((row) => row.count === 1)) await pruneExpired(db, params.now);

  let retryAfterSeconds = 0;
  for (const row of rows) {
    const bucket = buckets.find((b) => b.key === row.key)!;
    if (row.count > bucket.limit.max) {
      retryAfterSeconds = Math.max(retryAfterSeconds, Math.ceil((row.resetsAt.getTime() - params.now.getTime()) / 1000), 1);
    }
  }
  if (retryAfterSeconds > 0) return { ok: false, reason: 'too_many_attempts', rule: rule.name, retryAfterSeconds };
  return { ok: true, rule: rule.name };
}

/**
 * Forgets the e-mail's count after an attempt that opened a session, where the rule says so (a
 * successful sign-in): the account's owner never locks themselves out by signing in often. The
 * address's count stays, so an attacker cannot clear it by signing in to an account of their own
 * between guesses; a sign-up that signs the new user in clears nothing.
 */
export async function clearAuthAttemptsOfEmail(db: Database, params: { path: string; email: string }): Promise<void> {
  const rule = authRateLimitFor(params.path);
  if (!rule?.perEmail || !rule.sessionClearsEmailCount) return;
  await db.delete(authRateLimits).where(eq(authRateLimits.key, emailKey(rule, params.email)));
}

const emailKey = (rule: AuthRateLimitRule, email: string) => `${rule.name}:email:${email}`;

function bucketsOf(rule: AuthRateLimitRule, { ip, email }: CountAuthAttemptParams) {
  const buckets: { key: string; limit: AuthRateLimitRule['perIp'] }[] = [];
  if (ip) buckets.push({ key: `${rule.name}:ip:${ip}`, limit: rule.perIp });
  if (email && rule.perEmail) buckets.push({ key: emailKey(rule, email), limit: rule.perEmail });
  return buckets;
}

/**
 * Deletes rows whose window has ended, a batch at a time, skipping rows another attempt holds: no cron
 * job needed, and the table stays about as large as the windows still open.
 */
async function pruneExpired(db: Database, now: Date) {
  const expired = db
    .select({ key: authRateLimits.key })
    .from(authRateLimits)
    .where(lte(authRateLimits.resetsAt, now))
    .limit(PRUNE_BATCH_SIZE)
    .for('update', { skipLocked: true });
  await db.delete(authRateLimits).where(and(inArray(authRateLimits.key, expired), lte(authRateLimits.resetsAt, now)));
}
