// The app's database for a command (see lib/cli.ts for how it is opened), and `--user` resolved alike everywhere.
import { eq, or, sql } from 'drizzle-orm';
import { users, type User } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { openDatabaseForScript } from '../lib/cli';
import { usageError } from './io';

/** Runs `work` on the migrated database and closes it, whatever happens. */
export async function withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
  const handle = await openDatabaseForScript();
  try {
    return await work(handle.db);
  } finally {
    await handle.close();
  }
}

/** A user by id or e-mail (any case), for `--user` everywhere; naming nobody is a usage error. */
export async function resolveUser(db: Database, idOrEmail: string): Promise<User> {
  const [user] = await db
    .select()
    .from(users)
    .where(or(eq(users.id, idOrEmail), sql`lower(${users.email}) = lower(${idOrEmail})`))
    .limit(1);
  return user ?? usageError(`No user with id or e-mail "${idOrEmail}"`);
}
