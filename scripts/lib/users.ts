import { eq, or, sql } from 'drizzle-orm';
import { users, type User } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { fail } from './cli';

/** A user by id or e-mail; a clear error when there is none. */
export async function resolveUser(db: Database, idOrEmail: string): Promise<User> {
  const [user] = await db
    .select()
    .from(users)
    .where(or(eq(users.id, idOrEmail), sql`lower(${users.email}) = lower(${idOrEmail})`))
    .limit(1);
  if (!user) fail(`No user with id or e-mail "${idOrEmail}"`);
  return user;
}
