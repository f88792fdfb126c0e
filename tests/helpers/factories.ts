import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Database } from '@/lib/server/db/types';
import { users } from '@/lib/server/db/schema';
import { grantCredits, type GrantCreditsParams } from '@/lib/server/usecases/grant-credits';
import { startSubscription } from '@/lib/server/usecases/start-subscription';
import { createUser } from '@/lib/server/usecases/create-user';

let counter = 0;

/**
 * A user with no credits at all (no sign-up bonus): the blank page most engine tests start from. A real
 * account, so its address is verified (the grant job gives free credits to verified users only);
 * `emailVerified: false` makes a sign-up that never clicked its link.
 */
export async function makeUser(db: Database, overrides: { id?: string; now?: Date; emailVerified?: boolean } = {}) {
  counter += 1;
  const id = overrides.id ?? `user-${randomUUID()}`;
  const [user] = await db
    .insert(users)
    .values({
      id,
      email: `${id}@example.test`,
      name: `User ${counter}`,
      emailVerified: overrides.emailVerified ?? true,
      createdAt: overrides.now ?? new Date(),
    })
    .returning();
  return user!;
}

/** A user holding the admin role of the console (no credits). */
export async function makeAdmin(db: Database, overrides: { id?: string; now?: Date; emailVerified?: boolean } = {}) {
  const user = await makeUser(db, overrides);
  const [admin] = await db.update(users).set({ role: 'admin' }).where(eq(users.id, user.id)).returning();
  return admin!;
}

/** A user created the way the app creates them, with a verified address: with the sign-up bonus and the free month. */
export function makeRegisteredUser(db: Database, now: Date) {
  counter += 1;
  return createUser(db, { email: `registered-${randomUUID()}@example.test`, name: `Registered ${counter}`, emailVerified: true, now });
}

/** A batch granted through the real primitive; any field can be set. */
export async function makeBatch(db: Database, params: Partial<GrantCreditsParams> & Pick<GrantCreditsParams, 'userId' | 'amount'>) {
  const result = await grantCredits(db, {
    source: 'admin',
    category: 'paid',
    idempotencyKey: `test:${randomUUID()}`,
    expiresAt: null,
    ...params,
  });
  if (!result.ok) throw new Error(`makeBatch failed: ${result.message}`);
  return result.batch;
}

export async function makeSubscription(db: Database, params: { userId: string; planId: string; now: Date; subscriptionId?: string }) {
  const result = await startSubscription(db, { ...params, subscriptionId: params.subscriptionId ?? `sub-${randomUUID()}` });
  if (!result.ok) throw new Error(result.message);
  return result;
}

export const at = (iso: string) => new Date(iso);
