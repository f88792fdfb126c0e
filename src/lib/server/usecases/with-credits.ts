import 'server-only';
import { getDb } from '@/lib/server/db';
import type { HoldStatus } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { captureCredits } from './capture-credits';
import { releaseCredits } from './release-credits';
import { reserveCredits, type ReserveCreditsResult } from './reserve-credits';

export type WithCreditsOptions = {
  /** The app's database by default. */
  db?: Database;
  userId: string;
  /** Credits reserved before the work runs: its price, or the most it may cost. */
  cost: number;
  /** One per attempt of the user's action (a form's key, a request id): the same key never runs the work twice. */
  key: string;
  /** How long the work may take before its hold runs out (default `holds.defaultTtlSeconds`). */
  ttlSeconds?: number;
  /** What the credits pay for, shown in the user's history. */
  reason?: string;
  metadata?: Record<string, unknown>;
  /** The time of the reserve and of the capture or release (tests move it). */
  clock?: () => Date;
};

/** What the work sees of its hold. */
export type HeldCredits = {
  key: string;
  amount: number;
  expiresAt: Date;
  /** Capture only this much (0 … amount) when the work succeeds; the rest goes back. All of it by default. */
  setCost(cost: number): void;
};

export type WithCreditsResult<T> =
  | { ok: true; replayed: false; value: T; captured: number; released: number }
  /** The key had already reserved this request (a double submit, a retry): the work is not run again. */
  | { ok: true; replayed: true; status: HoldStatus }
  /** The work finished, but its hold had run out (or was released meanwhile): its credits went back, nothing was spent. */
  | { ok: false; reason: 'hold_expired' | 'hold_released'; value: T; message: string }
  | Exclude<ReserveCreditsResult, { ok: true }>;

/**
 * Runs `work` paid with credits: reserves `cost` (nothing runs when the user cannot afford it), runs
 * the work, then captures what it cost on success, or releases everything when it throws (and throws
 * again). A process that dies before either leaves a hold that is released when its time runs out.
 *
 *   const result = await withCredits({ userId, cost: 5, key: requestId, reason: 'export' }, (hold) => exportPdf(doc));
 *   if (!result.ok) return Response.json({ error: result.reason }, { status: 402 });
 */
export async function withCredits<T>(options: WithCreditsOptions, work: (hold: HeldCredits) => Promise<T>): Promise<WithCreditsResult<T>> {
  const db = options.db ?? (await getDb());
  const clock = options.clock ?? (() => new Date());
  const reserved = await reserveCredits(db, {
    userId: options.userId,
    amount: options.cost,
    key: options.key,
    ttlSeconds: options.ttlSeconds,
    reason: options.reason,
    metadata: options.metadata,
    now: clock(),
  });
  if (!reserved.ok) return reserved;
  if (reserved.replayed) return { ok: true, replayed: true, status: reserved.status };

  let cost = reserved.amount;
  const hold: HeldCredits = {
    key: reserved.holdKey,
    amount: reserved.amount,
    expiresAt: reserved.expiresAt,
    setCost(actual) {
      if (!Number.isInteger(actual) || actual < 0 || actual > reserved.amount) {
        throw new RangeError(`the cost must be a whole number from 0 to the ${reserved.amount} credits reserved, not ${actual}`);
      }
      cost = actual;
    },
  };
  const scope = { holdKey: reserved.holdKey, userId: options.userId };
  let value: T;
  try {
    value = await work(hold);
  } catch (error) {
    await releaseCredits(db, { ...scope, now: clock() }).catch((releaseError: unknown) => {
      // The hold stays until its time runs out, then the expiry job (or the user's next reserve) releases it.
      console.error(`[credits] hold ${reserved.holdKey}: the work failed and its release failed too:`, releaseError);
    });
    throw error;
  }
  if (cost === 0) {
    const released = await releaseCredits(db, { ...scope, now: clock() });
    if (!released.ok) throw new Error(`withCredits: releasing hold ${reserved.holdKey} failed: ${released.message}`);
    return { ok: true, replayed: false, value, captured: 0, released: released.released };
  }
  const captured = await captureCredits(db, { ...scope, amount: cost, now: clock() });
  if (captured.ok) return { ok: true, replayed: false, value, captured: captured.captured, released: captured.released };
  if (captured.reason === 'hold_expired' || captured.reason === 'hold_released') {
    return { ok: false, reason: captured.reason, value, message: captured.message };
  }
  throw new Error(`withCredits: capturing hold ${reserved.holdKey} failed: ${captured.reason}`);
}
