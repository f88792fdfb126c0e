import 'server-only';
import { cache } from 'react';
import { headers } from 'next/headers';
import { notFound, redirect } from 'next/navigation';
import { getDb } from '@/lib/server/db';
import { ensureWelcomeCredits } from '@/lib/server/usecases/grant-welcome-credits';
import { getAuth } from './auth';
import { hasAdminRole } from './roles';

/** The signed-in user of this request, or null; read once per request however many components ask. */
export const getCurrentUser = cache(async () => {
  // headers() first: it marks the page dynamic, so a build never opens the database for this.
  const requestHeaders = await headers();
  const session = await (await getAuth()).api.getSession({ headers: requestHeaders });
  // A verified user lacking the welcome credits (the hook failed after the address was verified) gets them now.
  if (session?.user.emailVerified) await ensureWelcomeCredits(await getDb(), { userId: session.user.id });
  return session?.user ?? null;
});

/** The signed-in user; anyone else is sent to the sign-in page, and back to `returnTo` (a path of this site) once signed in. */
export async function requireUser(returnTo?: string) {
  const user = await getCurrentUser();
  if (!user) redirect(returnTo ? `/sign-in?next=${returnTo}` : '/sign-in');
  return user;
}

/**
 * The signed-in admin; anyone else (signed out, or not an admin) gets the same 404 as a page that does
 * not exist, so the console's existence is not revealed. Every admin page, layout and action calls it.
 */
export async function requireAdmin() {
  const user = await getCurrentUser();
  if (!user || !hasAdminRole(user.role)) notFound();
  return user;
}
