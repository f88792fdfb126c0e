import { z } from 'zod';

// How many attempts at signing in, signing up, resetting a password or verifying an e-mail a client may
// make, whether through the app's forms or Better Auth's /api/auth endpoints (docs/security.md,
// "Rate limits"). Checked with zod when the module loads.

const limit = z.object({
  /** Attempts allowed in one window; the next one is refused until the window ends. */
  max: z.number().int().positive(),
  /** The window's length in seconds, counted from the first attempt in it. */
  windowSeconds: z
    .number()
    .int()
    .positive()
    .max(24 * 60 * 60),
});

const rule = z.object({
  /** Names the counters in the database (`sign-in:ip:…`); endpoints under one rule share them. */
  name: z.string().regex(/^[a-z-]+$/),
  /**
   * Better Auth endpoint paths (without /api/auth) this rule covers: an exact path, or `/prefix/*` for
   * every path under it. The same path reached by a form (`auth.api.*`) or over HTTP counts the same.
   */
  paths: z.array(z.string().regex(/^\/[a-z0-9/-]*(\/\*)?$/)).min(1),
  /** Per client address (taken from the trusted IP header only: TRUSTED_IP_HEADER). */
  perIp: limit,
  /** Per e-mail address named in the request's body (lower-cased), when it names one. */
  perEmail: limit.optional(),
  /**
   * An attempt that opens a session (a successful sign-in) forgets the e-mail's count, so the owner
   * never locks themselves out by signing in often; the address's count stays.
   */
  sessionClearsEmailCount: z.boolean().default(false),
});

export type AuthRateLimitRule = z.output<typeof rule>;

const minutes = (n: number) => n * 60;

export const authRateLimits: readonly AuthRateLimitRule[] = z
  .array(rule)
  .refine((rules) => new Set(rules.map((r) => r.name)).size === rules.length, { message: 'rule names must be unique' })
  .parse([
    {
      name: 'sign-in',
      paths: ['/sign-in/*'],
      perIp: { max: 30, windowSeconds: minutes(15) },
      // A guessed password costs the attacker one of these, whatever address it comes from.
      perEmail: { max: 10, windowSeconds: minutes(15) },
      sessionClearsEmailCount: true,
    },
    {
      name: 'sign-up',
      paths: ['/sign-up/*'],
      perIp: { max: 10, windowSeconds: minutes(60) },
      perEmail: { max: 5, windowSeconds: minutes(60) },
    },
    {
      // Each one sends an e-mail: kept low so the app cannot be used to flood an inbox.
      name: 'password-reset-request',
      paths: ['/request-password-reset', '/forget-password', '/forget-password/*', '/email-otp/request-password-reset'],
      perIp: { max: 10, windowSeconds: minutes(60) },
      perEmail: { max: 3, windowSeconds: minutes(60) },
    },
    {
      // A reset token is long and random; this bounds guessing and replaying them.
      name: 'password-reset',
      paths: ['/reset-password', '/reset-password/*'],
      perIp: { max: 10, windowSeconds: minutes(15) },
    },
    {
      name: 'verification-email',
      paths: ['/send-verification-email', '/email-otp/send-verification-otp'],
      perIp: { max: 10, windowSeconds: minutes(60) },
      perEmail: { max: 3, windowSeconds: minutes(60) },
    },
    {
      name: 'verify-email',
      paths: ['/verify-email', '/email-otp/verify-email'],
      perIp: { max: 20, windowSeconds: minutes(15) },
    },
    {
      // A signed-in session giving its password again: with a stolen session cookie, these would let a
      // password be guessed. Better Auth's own limiter covered the first two; ours replaces it.
      name: 'password-check',
      paths: ['/change-password', '/change-email', '/set-password', '/verify-password', '/delete-user'],
      perIp: { max: 10, windowSeconds: minutes(15) },
    },
  ]);

/** The rule covering a Better Auth endpoint path, if any (the first that matches). */
export function authRateLimitFor(path: string): AuthRateLimitRule | undefined {
  return authRateLimits.find((r) => r.paths.some((pattern) => matchesPath(pattern, path)));
}

function matchesPath(pattern: string, path: string): boolean {
  if (!pattern.endsWith('/*')) return path === pattern;
  return path.startsWith(pattern.slice(0, -1));
}
