import 'server-only';
import { randomUUID } from 'node:crypto';
import { users, type User } from '@/lib/server/db/schema';
import type { CreditsConfig } from '@/config/credits';
import type { Database } from '@/lib/server/db/types';
import { transaction } from '@/lib/server/db/sql';
import { onUserCreated } from './on-user-created';

export type CreateUserParams = { id?: string; email: string; name: string; now?: Date; config?: CreditsConfig };

/**
 * Creates a user with their welcome credits in one transaction. Sign-up through the auth library
 * reaches `onUserCreated` from its hook instead; scripts, the seed and tests use this.
 */
export async function createUser(db: Database, params: CreateUserParams): Promise<User> {
  const now = params.now ?? new Date();
  return transaction(db, async (tx) => {
    const [user] = await tx
      .insert(users)
      .values({ id: params.id ?? randomUUID(), email: params.email, name: params.name, createdAt: now, updatedAt: now })
      .returning();
    await onUserCreated(tx, { userId: user!.id, now, config: params.config });
    return user!;
  });
}
