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
import { ensureWelcomeCredits } from '@/lib/server/usecases/grant-welcome-credits';
import { setUserRole } from '@/lib/server/usecases/set-user-role';
import { appBaseUrl } from '@/lib/server/mail/links';
import { sendAccountExists, sendResetPassword, sendVerifyEmail } from './mails';
import { checkedProfileFields } from './profile-fields';
import { authRateLimit, clientIpOptions, trustedIpHeader } from './rate-limit';
import { ADMIN_ROLE } from './roles';

export type CreateAuthOptions = {
  secret?: string;
  baseURL?: string;
  /** `ADMIN_EMAILS`, lower-cased: these users get the admin role once their address is verified, or at sign-in. */
  adminEmails?: readonly string[];
  /** The request header holding the client's address, set by the hosting proxy (`trustedIpHeader()`); none: no address is trusted. */
  trustedIpHeader?: string;
};

/**
 * Better Auth on our own tables (plural names, text ids), with the admin plugin's roles and bans
 * (docs/admin.md). Accounts (docs/accounts.md): an address is verified by a mailed link before its
 * user can sign in or receives any credit, and no answer tells a stranger whether an address has an
 * account.
 */
export function createAuth(db: Database, options: CreateAuthOptions = {}) {
  const adminEmails = new Set(options.adminEmails ?? []);
  const listedAsAdmin = (email: string) => adminEmails.has(email.toLowerCase());
  const appOrigin = options.baseURL ? new URL(options.baseURL).origin : '';

  // What a verified address unlocks: the welcome credits (keyed, so a second verification or a later
  // update of the user grants nothing) and, for an ADMIN_EMAILS address, the admin role. Never for an
  // unverified address: anyone can type ops@… into the sign-up form.
  const onVerifiedAddress = async (user: { id: string; email: string; emailVerified: boolean } | null) => {
    if (!user?.emailVerified) return;
    await ensureWelcomeCredits(db, { userId: user.id });
    if (listedAsAdmin(user.email)) await setUserRole(db, { user: user.id, role: ADMIN_ROLE });
  };

  return betterAuth({
    secret: options.secret,
    baseURL: options.baseURL,
    database: drizzleAdapter(db, { provider: 'pg', usePlural: true, schema, transaction: true }),
    // Our rate limit (rate-limit.ts) runs before every endpoint, for the forms' auth.api calls too, counting
    // in the database; Better Auth's own limiter sees HTTP only, in one process's memory, so it is off.
    hooks: authRateLimit(db),
    rateLimit: { enabled: false },
    advanced: { ipAddress: clientIpOptions(options.trustedIpHeader) },
    emailAndPassword: {
      enabled: true,
      minPasswordLength: 8,
      // No session before the address is verified. With this on, Better Auth also answers a sign-up
      // for a taken address exactly as for a new one (a made-up user, no session) and tells the owner
      // by mail instead (onExistingUserSignUp): the sign-up form and endpoint reveal no account.
      requireEmailVerification: true,
      // The made-up user must look like a new one in every field, the admin plugin's included.
      customSyntheticUser: ({ coreFields, additionalFields, id }) => ({
        ...coreFields,
        role: 'user',
        banned: false,
        banReason: null,
        banExpires: null,
        ...additionalFields,
        id,
      }),
      onExistingUserSignUp: async ({ user }) => {
        await sendAccountExists(user, { signIn: `${appOrigin}/sign-in`, forgotPassword: `${appOrigin}/forgot-password` });
      },
      // The link leads to /api/auth/reset-password/:token, which sends the browser on to our
      // /reset-password page with the token. A new password ends every session of the account.
      sendResetPassword: async ({ user, url }) => {
        // Only an existing address gets here: a failed send must answer like an unknown address does.
        await sendResetPassword(user, url).catch((error: unknown) =>
          console.error('[auth] could not send the password-reset mail:', error),
        );
      },
      revokeSessionsOnPasswordReset: true,
    },
    emailVerification: {
      sendOnSignUp: true,
      // Signing in with the right password but an unverified address mails a fresh link (the first
      // may have expired or been lost).
      sendOnSignIn: true,
      // The link proves the address: it signs its owner in, who lands on their credits.
      autoSignInAfterVerification: true,
      sendVerificationEmail: async ({ user, url }) => {
        await sendVerifyEmail(user, url);
      },
    },
    databaseHooks: {
      user: {
        // Every write of a user row (sign-up, update-user, the admin plugin) passes the before hooks: a
        // name or image outside src/lib/user-profile.ts's limits is a 400 and nothing is written.
        create: {
          before: async (user) => ({ data: { ...user, ...checkedProfileFields(user) } }),
          // A user created already verified (the admin plugin's createUser, a future social sign-in).
          after: onVerifiedAddress,
        },
        update: {
          before: async (fields) => ({ data: { ...fields, ...checkedProfileFields(fields) } }),
          // Every way an address becomes verified updates the user through Better Auth: the mailed
          // link (/verify-email), the admin plugin's updateUser, a change of address. Runs once the
          // update is committed; for a user verified earlier it finds the credits already granted.
          after: onVerifiedAddress,
        },
      },
      session: {
        create: {
          // An e-mail added to ADMIN_EMAILS after its user verified it takes effect at their next sign-in.
          // setUserRole changes nothing for a user who already is an admin.
          after: async (session) => {
            const [user] = await db
              .select({ email: schema.users.email, emailVerified: schema.users.emailVerified })
              .from(schema.users)
              .where(eq(schema.users.id, session.userId));
            if (user?.emailVerified && listedAsAdmin(user.email)) await setUserRole(db, { user: session.userId, role: ADMIN_ROLE });
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
    const { BETTER_AUTH_SECRET, ADMIN_EMAILS } = env();
    auth = createAuth(db, {
      secret: BETTER_AUTH_SECRET,
      baseURL: appBaseUrl(),
      adminEmails: ADMIN_EMAILS,
      trustedIpHeader: trustedIpHeader(env()),
    });
    instances.set(db, auth);
  }
  return auth;
}
