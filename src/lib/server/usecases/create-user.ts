import 'server-only';
import { randomUUID } from 'node:crypto';
import { users, type User } from '@/lib/server/db/schema';
import type { CreditsConfig } from '@/config/credits';
import type { Database } from '@/lib/server/db/types';
import { transaction } from '@/lib/server/db/sql';
import { grantWelcomeCredits } from './grant-welcome-credits';

export type CreateUserParams = {
  id?: string;
  email: string;
  name: string;
  /**
   * Whether the address is already known to be the user's (an operator's import, the demo seed):
   * a verified user gets the welcome credits now; an unverified one gets them, as after a sign-up,
   * only once the address is verified (docs/accounts.md).
   */
  emailVerified: boolean;
  now?: Date;
  config?: CreditsConfig;
};

/**
 * Creates a user, with their welcome credits when the address is verified, in one transaction.
 * Sign-up through the auth library grants them from its hook when the address is verified instead;
 * scripts, the seed and tests use this.
 */
export async function createUser(db: Database, params: CreateUserParams): Promise<User> {
  const now = params.now ?? new Date();
  return transaction(db, async (tx) => {
    const [user] = await tx
      .insert(users)
      .values({
        id: params.id ?? randomUUID(),
        email: params.email,
        name: params.name,
        emailVerified: params.emailVerified,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    if (params.emailVerified) await grantWelcomeCredits(tx, { userId: user!.id, now, config: params.config });
    return user!;
  });
}
