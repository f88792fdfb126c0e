import 'server-only';
import { MAX_CREDITS } from '@/config/credits';

export type AmountRefusal = { ok: false; reason: 'invalid_amount' | 'amount_out_of_range'; message: string };

/**
 * Every amount a caller hands the engine: a positive whole number, at most MAX_CREDITS (2^53 - 1).
 * Null when it is fine; otherwise the typed refusal, so nothing reaches the database.
 */
export function refuseAmount(amount: number, what = 'amount'): AmountRefusal | null {
  if (!Number.isInteger(amount) || amount <= 0) {
    return { ok: false, reason: 'invalid_amount', message: `${what} must be a positive whole number` };
  }
  if (amount > MAX_CREDITS) {
    return { ok: false, reason: 'amount_out_of_range', message: `${what} must be at most ${MAX_CREDITS}` };
  }
  return null;
}
