import 'server-only';
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { env } from '@/env';
import { JobFailedError } from '@/lib/server/credits/job-runner';
import type { JobTrigger } from '@/lib/server/db/schema';
import { errorResponse, json } from './responses';

export type CronTrigger = Extract<JobTrigger, 'vercel-cron' | 'bearer' | 'basic'>;

export type CronCredentials = {
  secret?: string;
  username?: string;
  password?: string;
};

export type CronAuthResult =
  { ok: true; trigger: CronTrigger } | { ok: false; reason: 'not_configured' | 'unauthorized'; basicConfigured: boolean };

/** Real credentials fit in a few hundred bytes; anything far larger is refused before it is parsed. */
export const MAX_AUTHORIZATION_LENGTH = 4_096;

// Both sides are reduced to a 32-byte HMAC before comparing, so `timingSafeEqual` always compares
// equal lengths and the time taken reveals neither the secret's length nor how much of it matched.
// The key is random per process: the digests are never stored or sent anywhere.
const digestKey = randomBytes(32);
const digest = (value: string) => createHmac('sha256', digestKey).update(value, 'utf8').digest();
const safeEqual = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected));

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// NUL and other control characters: never part of real credentials, and a classic way to confuse parsers.
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Checks an `Authorization` header against the configured cron credentials: `Bearer <CRON_SECRET>`
 * or `Basic base64(user:password)`. Fails closed: with nothing configured, nothing is accepted.
 */
export function checkCronAuth(headers: Headers, credentials: CronCredentials): CronAuthResult {
  const { secret, username, password } = credentials;
  const basicConfigured = Boolean(username && password);
  if (!secret && !basicConfigured) return { ok: false, reason: 'not_configured', basicConfigured };
  const denied = { ok: false, reason: 'unauthorized', basicConfigured } as const;

  const header = headers.get('authorization');
  if (!header || header.length > MAX_AUTHORIZATION_LENGTH || CONTROL.test(header)) return denied;
  const space = header.indexOf(' ');
  if (space <= 0) return denied;
  // RFC 9110: the scheme is case-insensitive; the credentials after the single space are not.
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1);

  if (scheme === 'bearer') {
    if (!secret || !safeEqual(value, secret)) return denied;
    // Vercel Cron identifies itself with this user agent; it only ever sends the Bearer secret.
    const userAgent = headers.get('user-agent') ?? '';
    return { ok: true, trigger: userAgent.startsWith('vercel-cron/') ? 'vercel-cron' : 'bearer' };
  }

  if (scheme === 'basic') {
    if (!basicConfigured || !BASE64.test(value)) return denied;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    if (CONTROL.test(decoded)) return denied;
    // The user name cannot contain ':' (RFC 7617), the password can: split at the first colon only.
    const colon = decoded.indexOf(':');
    if (colon <= 0 || colon === decoded.length - 1) return denied;
    const userOk = safeEqual(decoded.slice(0, colon), username!);
    const passwordOk = safeEqual(decoded.slice(colon + 1), password!);
    // Both comparisons always run: no early exit tells a caller which half was wrong.
    return userOk && passwordOk ? { ok: true, trigger: 'basic' } : denied;
  }

  return denied;
}

export type CronContext<T extends CronTrigger | null = CronTrigger> = {
  req: Request;
  /** How the caller authenticated; null only on routes with optional auth, when no header was sent. */
  trigger: T;
  /** Chosen before any work so every answer, even a 503, can name the run to look up. */
  jobId: string;
};

type RouteHandler = (req: Request) => Promise<Response>;

/**
 * Wraps a cron route: checks auth, hands the handler how the caller authenticated and a job id, and
 * turns anything thrown into the generic JSON error (the detail goes to the log, never to the caller).
 * With `{ optional: true }` (the health route) a request without `Authorization` reaches the handler
 * with `trigger: null`; a header that is present must still be valid.
 */
export function withCronAuth(handler: (ctx: CronContext) => Promise<Response>): RouteHandler;
export function withCronAuth(
  handler: (ctx: CronContext<CronTrigger | null>) => Promise<Response>,
  options: { optional: true },
): RouteHandler;
export function withCronAuth(
  handler: ((ctx: CronContext) => Promise<Response>) | ((ctx: CronContext<CronTrigger | null>) => Promise<Response>),
  options: { optional?: boolean } = {},
): RouteHandler {
  // Only the optional overload can receive `trigger: null`.
  const run = handler as (ctx: CronContext<CronTrigger | null>) => Promise<Response>;
  return async (req) => {
    const jobId = randomUUID();
    try {
      if (options.optional && !req.headers.has('authorization')) return await run({ req, trigger: null, jobId });
      const { CRON_SECRET, CRON_JOBS_USERNAME, CRON_JOBS_PASSWORD } = env();
      const auth = checkCronAuth(req.headers, { secret: CRON_SECRET, username: CRON_JOBS_USERNAME, password: CRON_JOBS_PASSWORD });
      if (!auth.ok && auth.reason === 'not_configured') {
        console.error('[cron] refused a call: set CRON_SECRET or CRON_JOBS_USERNAME/CRON_JOBS_PASSWORD');
        return json({ error: 'Cron auth not configured' }, { status: 500 });
      }
      if (!auth.ok) {
        const challenge = auth.basicConfigured ? 'Basic realm="cron"' : 'Bearer realm="cron"';
        return json({ error: 'Unauthorized' }, { status: 401, headers: { 'WWW-Authenticate': challenge } });
      }
      return await run({ req, trigger: auth.trigger, jobId });
    } catch (error) {
      // runJob has already logged a failed job with its id; anything else is logged here, once.
      if (!(error instanceof JobFailedError)) console.error(`[cron ${jobId}] ${req.method} ${new URL(req.url).pathname} failed:`, error);
      return errorResponse(error, jobId);
    }
  };
}
