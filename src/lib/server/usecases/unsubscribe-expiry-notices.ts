import 'server-only';
import type { Database } from '@/lib/server/db/types';
import { signToken, verifyToken } from '@/lib/server/mail/links';
import { setExpiryNotices } from './set-expiry-notices';

export type UnsubscribeResult = { ok: true } | { ok: false; reason: 'invalid_link'; message: string };

const invalid = (): UnsubscribeResult => ({
  ok: false,
  reason: 'invalid_link',
  message: 'This unsubscribe link is not valid. Turn the mail off on your credits page instead.',
});

/** The token of a user's unsubscribe link (signed with BETTER_AUTH_SECRET, see mail/links.ts). */
export const expiryNoticesUnsubscribeToken = (userId: string) => signToken('unsubscribe-expiry-notices', userId);

/**
 * The unsubscribe link of the "credits expiring soon" mail: whoever holds the signed token (the mail's
 * recipient) turns the mail off for its user, without signing in. A user who no longer exists is
 * answered like a bad link; a second use changes nothing and succeeds again.
 */
export async function unsubscribeFromExpiryNotices(db: Database, params: { token: string }): Promise<UnsubscribeResult> {
  const userId = verifyToken('unsubscribe-expiry-notices', params.token);
  if (!userId) return invalid();
  const result = await setExpiryNotices(db, { userId, enabled: false });
  return result.ok ? { ok: true } : invalid();
}
