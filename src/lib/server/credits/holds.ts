import 'server-only';
import { MAX_KEY_LENGTH } from './keys';

/** What a capture or a release answers for a hold it cannot find (or that belongs to another user). */
export type HoldRefusal = { ok: false; reason: 'hold_not_found'; message: string };

export function holdNotFound(key: string): HoldRefusal {
  return { ok: false, reason: 'hold_not_found', message: `no hold ${key}` };
}

/** A key that cannot name a hold (empty, or longer than any key a reserve accepts) is not found, without a query. */
export function refuseHoldKey(key: string): HoldRefusal | null {
  return typeof key !== 'string' || key.trim() === '' || key.length > MAX_KEY_LENGTH ? holdNotFound(String(key)) : null;
}
