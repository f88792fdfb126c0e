import 'server-only';
import { APIError, createAuthMiddleware, getIP } from 'better-auth/api';
import { z } from 'zod';
import { authRateLimitFor } from '@/config/rate-limits';
import type { Env } from '@/env';
import type { Database } from '@/lib/server/db/types';
import { clearAuthAttemptsOfEmail, countAuthAttempt } from '@/lib/server/usecases/count-auth-attempt';

/** Vercel sets this one itself on every request (a client's own value is replaced), and no proxy in front of Vercel rewrites it. */
export const VERCEL_IP_HEADER = 'x-vercel-forwarded-for';

/**
 * The request header that holds the client's address: TRUSTED_IP_HEADER, else on Vercel the header
 * Vercel sets, else none (no address is trusted, so per-address limits are off; docs/security.md).
 */
export function trustedIpHeader(env: Pick<Env, 'TRUSTED_IP_HEADER' | 'VERCEL_ENV'>): string | undefined {
  return env.TRUSTED_IP_HEADER ?? (env.VERCEL_ENV ? VERCEL_IP_HEADER : undefined);
}

/**
 * Better Auth's `advanced.ipAddress`: the client's address is read from the trusted header only (one
 * address, IPv6 collapsed to its /64), never from X-Forwarded-For a client can write. Without a trusted
 * header no address is read at all, rather than Better Auth's default of X-Forwarded-For. Sessions
 * record the same address the rate limit counts.
 */
export function clientIpOptions(header: string | undefined) {
  return header ? { ipAddressHeaders: [header] } : { disableIpTracking: true };
}

/**
 * The rate limit as Better Auth `hooks`. Better Auth runs them around every endpoint, whether reached
 * over HTTP (/api/auth/*) or called as `auth.api.*` by a server action, so the forms and the endpoints
 * share one rule and one count. `before` counts the attempt and refuses it when over the limit: the
 * endpoint never runs (a correct password does not sign in, nothing is sent or changed). `after`
 * forgets the e-mail's count once an attempt opened a session.
 */
export function authRateLimit(db: Database) {
  let warnedNoAddress = false;
  const before = createAuthMiddleware(async (ctx) => {
    if (!authRateLimitFor(ctx.path)) return;
    const ip = ctx.headers ? getIP(ctx.headers, ctx.context.options) : null;
    if (!ip && ctx.headers && !warnedNoAddress) {
      warnedNoAddress = true;
      ctx.context.logger.warn('Auth rate limit: no trusted client address (set TRUSTED_IP_HEADER); only the per-e-mail limits apply.');
    }
    const result = await countAuthAttempt(db, { path: ctx.path, ip, email: emailOf(ctx.body), now: new Date() });
    if (!result.ok) throw tooManyAttempts(result.retryAfterSeconds);
  });
  const after = createAuthMiddleware(async (ctx) => {
    const email = emailOf(ctx.body);
    if (ctx.context.newSession && email && authRateLimitFor(ctx.path)) await clearAuthAttemptsOfEmail(db, { path: ctx.path, email });
  });
  return { before, after };
}

const emailInBody = z.object({ email: z.string().trim().toLowerCase().pipe(z.email().max(254)) });

/** The e-mail a request's body names, lower-cased; null when it names none (the endpoint's own validation refuses a bad one). */
function emailOf(body: unknown): string | null {
  const parsed = emailInBody.safeParse(body);
  return parsed.success ? parsed.data.email : null;
}

/**
 * 429 with `Retry-After`. The body has Better Auth's error shape (`code`, `message`: what its client
 * reads) and our routes' `error`; the forms show `message`.
 */
export function tooManyAttempts(retryAfterSeconds: number) {
  const minutes = minutesOf(retryAfterSeconds);
  const message = `Too many attempts. Try again in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`;
  return new APIError(
    'TOO_MANY_REQUESTS',
    { code: TOO_MANY_ATTEMPTS, message, error: message },
    { 'Retry-After': String(retryAfterSeconds) },
  );
}

export const TOO_MANY_ATTEMPTS = 'TOO_MANY_ATTEMPTS';

const minutesOf = (seconds: number) => Math.max(1, Math.ceil(seconds / 60));

/** The whole minutes a `tooManyAttempts` refusal asks to wait, read from its Retry-After: what a form says in the reader's language. */
export function retryAfterMinutes(error: { headers: HeadersInit }): number {
  return minutesOf(Number(new Headers(error.headers).get('Retry-After')) || 60);
}
