import 'server-only';
import { desc, eq, ilike, or } from 'drizzle-orm';
import { creditBalances, users } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';

const RESULTS = 25;

/**
 * Users whose id is `query`, or whose e-mail contains it (case-insensitive), newest first, each with
 * their balance and whether they are an admin or banned. An empty query lists the newest users.
 */
export async function searchUsers(db: Database, params: { query: string }) {
  const query = params.query.trim();
  // `%` and `_` typed by the admin are letters, not wildcards.
  const pattern = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return db
    .select({
      id: users.id,
      email: users.email,
      name: users.name,
      role: users.role,
      banned: users.banned,
      createdAt: users.createdAt,
      balance: creditBalances.balance,
    })
    .from(users)
    .leftJoin(creditBalances, eq(creditBalances.userId, users.id))
    .where(query === '' ? undefined : or(eq(users.id, query), ilike(users.email, pattern)))
    .orderBy(desc(users.createdAt), desc(users.id))
    .limit(RESULTS);
}

export type UserSearchResult = Awaited<ReturnType<typeof searchUsers>>[number];
