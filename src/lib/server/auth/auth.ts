import 'server-only';
import { eq } from 'drizzle-orm';
import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { nextCookies } from 'better-auth/next-js';
import { admin } from 'better-auth/plugins';
import { env } from '@/env';
import { getDb } from '@/lib/server/db';
import * as schema from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { onUserCreated } from '@/lib/server/usecases/on-user-created';
import { setUserRole } from '@/lib/server/usecases/set-user-role';
import { ADMIN_ROLE } from './roles';

export type CreateAuthOptions = {
  secret?: string;
  baseURL?: string;
  /** `ADMIN_EMAILS`, lower-cased: these users get the admin role when they sign up or sign in. */
  adminEmails?: readonly string[];
};

/**
 * Better Auth on our own tables (plural names, text ids), granting the welcome credits to each new
 * user, with the admin plugin's roles and bans (docs/admin.md).
 */
export function createAuth(db: Database, options: CreateAuthOptions = {}) {
  const adminEmails = new Set(options.adminEmails ?? []);
  const listedAsAdmin = (email: string) => adminEmails.has(email.toLowerCase());
  return betterAuth({
    secret: options.secret,
    baseURL: options.baseURL,
    database: drizzleAdapter(db, { provider: 'pg', usePlural: true, schema, transaction: true }),
    emailAndPassword: { enabled: true, minPasswordLength: 8 },
    databaseHooks: {
      user: {
        create: {
          before: async (user) => (listedAsAdmin(user.email) ? { data: { ...user, role: ADMIN_ROLE } } : undefined),
          // Better Auth runs this once the user's row is committed. onUserCreated is keyed
          // (`signup:{userId}`, `free:{userId}:{YYYY-MM}`), so a second call would grant nothing.
          after: async (user) => {
            await onUserCreated(db, { userId: user.id });
          },
        },
      },
      session: {
        create: {
          // An e-mail added to ADMIN_EMAILS after its user signed up takes effect at their next sign-in.
          // setUserRole changes nothing for a user who already is an admin.
          after: async (session) => {
            const [user] = await db.select({ email: schema.users.email }).from(schema.users).where(eq(schema.users.id, session.userId));
            if (user && listedAsAdmin(user.email)) await setUserRole(db, { user: session.userId, role: ADMIN_ROLE });
          },
        },
      },
    },
    // Lets server actions that call auth.api.signInEmail / signUpEmail / signOut set the session cookie; must stay last.
    // admin(): roles (`users.role`) and bans; a banned user cannot sign in and their sessions end.
    plugins: [admin(), nextCookies()],
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
    const { BETTER_AUTH_SECRET, BETTER_AUTH_URL, ADMIN_EMAILS } = env();
    auth = createAuth(db, { secret: BETTER_AUTH_SECRET, baseURL: BETTER_AUTH_URL, adminEmails: ADMIN_EMAILS });
    instances.set(db, auth);
  }
  return auth;
}
