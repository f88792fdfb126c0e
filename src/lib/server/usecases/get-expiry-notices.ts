import 'server-only';
import { eq } from 'drizzle-orm';
import { users } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';

/** Whether the user gets the "credits expiring soon" mail (false for a user who does not exist). */
export async function getExpiryNotices(db: Database, params: { userId: string }): Promise<boolean> {
  const [row] = await db.select({ enabled: users.expiryNotices }).from(users).where(eq(users.id, params.userId));
  return row?.enabled ?? false;
}
