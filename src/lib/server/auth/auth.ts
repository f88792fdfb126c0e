import 'server-only';
import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { nextCookies } from 'better-auth/next-js';
import { env } from '@/env';
import { getDb } from '@/lib/server/db';
import * as schema from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { onUserCreated } from '@/lib/server/usecases/on-user-created';

export type CreateAuthOptions = { secret?: string; baseURL?: string };

/** Better Auth on our own tables (plural names, text ids), granting the welcome credits to each new user. */
export function createAuth(db: Database, options: CreateAuthOptions = {}) {
  return betterAuth({
    secret: options.secret,
    baseURL: options.baseURL,
    database: drizzleAdapter(db, { provider: 'pg', usePlural: true, schema, transaction: true }),
    emailAndPassword: { enabled: true, minPasswordLength: 8 },
    databaseHooks: {
      user: {
        create: {
          // Better Auth runs this once the user's row is committed. onUserCreated is keyed
          // (`signup:{userId}`, `free:{userId}:{YYYY-MM}`), so a second call would grant nothing.
          after: async (user) => {
            await onUserCreated(db, { userId: user.id });
          },
        },
      },
    },
    // Lets server actions that call auth.api.signInEmail / signUpEmail / signOut set the session cookie; must stay last.
    plugins: [nextCookies()],
  });
}

export type Auth = ReturnType<typeof createAuth>;

// One instance per database handle: getDb() is async (it opens and migrates on first use), and route
// tests may point it at another database with setDatabase().
const instances = new WeakMap<Database, Auth>();

/** The app's auth instance, built on first use. */
export async function getAuth(): Promise<Auth> {
  const db = await getDb();
  let auth = instances.get(db);
  if (!auth) {
    const { BETTER_AUTH_SECRET, BETTER_AUTH_URL } = env();
    auth = createAuth(db, { secret: BETTER_AUTH_SECRET, baseURL: BETTER_AUTH_URL });
    instances.set(db, auth);
  }
  return auth;
}
