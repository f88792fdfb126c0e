import 'server-only';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { users } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';

const paramsSchema = z.object({ userId: z.string().min(1), enabled: z.boolean() });

export type SetExpiryNoticesResult = { ok: true; enabled: boolean } | { ok: false; reason: 'user_not_found'; message: string };

/**
 * Turns the daily "credits expiring soon" mail on or off for one user (the toggle on /credits, and the
 * mail's unsubscribe link). Setting the value it already has is no change and answers the same.
 */
export async function setExpiryNotices(db: Database, params: z.input<typeof paramsSchema>): Promise<SetExpiryNoticesResult> {
  const { userId, enabled } = paramsSchema.parse(params);
  const [row] = await db
    .update(users)
    .set({ expiryNotices: enabled })
    .where(eq(users.id, userId))
    .returning({ enabled: users.expiryNotices });
  if (!row) return { ok: false, reason: 'user_not_found', message: 'There is no such user.' };
  return { ok: true, enabled: row.enabled };
}
