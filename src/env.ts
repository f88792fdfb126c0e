import { z } from 'zod';

// Every variable the app reads is declared here and nowhere else; `.env.example` mirrors this list.
const secret = (name: string) =>
  z.string().min(16, `${name} must be at least 16 characters (generate one with: openssl rand -hex 32)`).optional();

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    /** Postgres server. Unset: the app uses the embedded PGlite database kept in PGLITE_DATA_DIR. */
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'DATABASE_URL must be a postgres:// URL' }).optional(),
    PGLITE_DATA_DIR: z.string().min(1).default('.data/pglite'),
    /** Bearer secret for cron routes. Vercel Cron sends `Authorization: Bearer $CRON_SECRET`. */
    CRON_SECRET: secret('CRON_SECRET'),
    /** Basic-auth credentials for schedulers such as cron-job.org. */
    CRON_JOBS_USERNAME: z.string().min(1).optional(),
    CRON_JOBS_PASSWORD: secret('CRON_JOBS_PASSWORD'),
    /** Signs Better Auth's sessions. Required in production; `npm run dev` generates one into .env.local. */
    BETTER_AUTH_SECRET: secret('BETTER_AUTH_SECRET'),
    /**
     * The request header in which the hosting proxy puts the client's address (one address, replacing
     * whatever the client sent): `cf-connecting-ip` behind Cloudflare, `x-real-ip` behind an nginx that
     * sets it. Unset: on Vercel `x-vercel-forwarded-for`, elsewhere none (per-address rate limits are off).
     */
    TRUSTED_IP_HEADER: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z0-9-]+$/, 'TRUSTED_IP_HEADER must be a header name such as cf-connecting-ip')
      .optional(),
    /**
     * The app's public URL, used by the auth library for redirects, cookies and the links it mails.
     * Required in production (on Vercel too: a preview's links must not point at production); in
     * development it defaults to http://localhost:$PORT.
     */
    BETTER_AUTH_URL: z.url({ error: 'BETTER_AUTH_URL must be a URL such as http://localhost:3000' }).optional(),
    /**
     * E-mails of the admin console's admins, comma-separated (`ops@example.com, cto@example.com`): a user
     * with one of them gets the `admin` role once the address is verified, or at a later sign-in.
     * Compared case-insensitively.
     */
    ADMIN_EMAILS: z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((email) => email.trim().toLowerCase())
          .filter((email) => email !== ''),
      )
      .refine((emails) => emails.every((email) => z.email().safeParse(email).success), {
        error: 'ADMIN_EMAILS must be a comma-separated list of e-mail addresses',
      })
      .default([]),
    /** A job call stops starting new chunks after this many ms and answers `hasMore: true`. */
    CRON_TIME_BUDGET_MS: positiveInt(20_000),
    /** Users (or batches, or schedules) handled per transaction by the set-based jobs. */
    CREDITS_CHUNK_SIZE: positiveInt(1_000),
    /** Where `npm run scheduler` reaches the app's cron routes (a self-hosted server, or `npm run dev`). */
    APP_URL: z.url({ error: 'APP_URL must be a URL such as http://localhost:3000' }).default('http://localhost:3000'),
    /**
     * Where a cron route sends the call that continues its own unfinished work (scheme, host and port;
     * the path and query are the first call's). Unset: on Vercel production the project's production
     * domain, elsewhere this server's own loopback address. Never taken from the request's Host header.
     */
    CRON_CONTINUATION_URL: z
      .url({ protocol: /^https?$/, error: 'CRON_CONTINUATION_URL must be an http(s) URL such as https://app.example.com' })
      .optional(),
    /** Continuations a scheduled call may chain after itself while the work says `hasMore`; 0 turns self-continuation off. */
    CRON_MAX_CONTINUATIONS: z.coerce.number().int().min(0).max(1_000).default(50),
    /** The port `next start` listens on (it sets this itself): a continuation's loopback address uses it. */
    PORT: z.coerce.number().int().min(1).max(65_535).default(3000),
    /** Stripe: the secret API key (`sk_test_…` / `sk_live_…`) and the webhook endpoint's signing secret (`whsec_…`). */
    STRIPE_SECRET_KEY: z.string().min(1).optional(),
    STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
    /** Tests only: where the Stripe client sends API calls (a local stand-in); unset, Stripe's own API. */
    STRIPE_API_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** Creem: the API key and the webhook secret. Keys starting `creem_test_` go to Creem's test API. */
    CREEM_API_KEY: z.string().min(1).optional(),
    CREEM_WEBHOOK_SECRET: z.string().min(1).optional(),
    /** Tests only: where Creem API calls go (a local stand-in); unset, chosen from the key (test or live API). */
    CREEM_API_URL: z.url({ protocol: /^https?$/ }).optional(),
    /**
     * Which provider new checkouts go to. Unset: Stripe if it has a key, else Creem if it has one, else
     * (outside production) the labelled test checkout. Webhooks of every configured provider are accepted whatever this says.
     */
    PAYMENTS_PROVIDER: z.enum(['stripe', 'creem', 'test']).optional(),
    /**
     * Where mail goes: an SMTP URL (`smtps://user:pass@smtp.example.com:465`, `smtp://…:587` for
     * STARTTLS). Any provider with SMTP works (SES, Postmark, Resend, Mailgun, your own). Required in
     * production; unset in development, mail lands in the dev outbox (console and /dev/mail).
     */
    SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'SMTP_URL must be an smtp:// or smtps:// URL' }).optional(),
    /** The sender of every mail, `Name <address>`; required in production (a provider refuses unknown senders). */
    MAIL_FROM: z.string().min(3).optional(),
    /** Development only: where the dev outbox keeps the last messages (git-ignored). */
    DEV_MAIL_DIR: z.string().min(1).default('.data/dev-mail'),
    /** Set by Vercel: `production`, `preview` or `development`. */
    VERCEL_ENV: z.string().optional(),
    /** Set by Vercel: the project's production domain, without `https://`. */
    VERCEL_PROJECT_PRODUCTION_URL: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    // `next build` runs with NODE_ENV=production but serves nobody: the server checks these at start.
    const serving = env.NODE_ENV === 'production' && !process.env.NEXT_PHASE?.includes('build');
    if (serving && !env.BETTER_AUTH_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['BETTER_AUTH_SECRET'],
        message: 'BETTER_AUTH_SECRET is required in production (openssl rand -hex 32)',
      });
    }
    // Without it Better Auth guesses the site's URL from each request's Host header, so a forged Host
    // could steer its redirects, the origins it trusts and the links it mails.
    if (serving && !env.BETTER_AUTH_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['BETTER_AUTH_URL'],
        message: "BETTER_AUTH_URL is required in production: the app's public URL, such as https://app.example.com",
      });
    }
    if (env.NODE_ENV === 'production' && env.PAYMENTS_PROVIDER === 'test') {
      ctx.addIssue({
        code: 'custom',
        path: ['PAYMENTS_PROVIDER'],
        message: 'PAYMENTS_PROVIDER=test (the test checkout) is refused in production',
      });
    }
    if (serving && !env.SMTP_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['SMTP_URL'],
        message: 'SMTP_URL is required in production: sign-up, password reset and receipts are sent by mail (docs/mail.md)',
      });
    }
    if (serving && !env.MAIL_FROM) {
      ctx.addIssue({ code: 'custom', path: ['MAIL_FROM'], message: 'MAIL_FROM is required in production, e.g. "Acme <billing@acme.com>"' });
    }
    if (Boolean(env.CRON_JOBS_USERNAME) !== Boolean(env.CRON_JOBS_PASSWORD)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.CRON_JOBS_USERNAME ? 'CRON_JOBS_PASSWORD' : 'CRON_JOBS_USERNAME'],
        message: 'CRON_JOBS_USERNAME and CRON_JOBS_PASSWORD must be set together',
      });
    }
  });

export type Env = z.infer<typeof envSchema>;

export class EnvError extends Error {
  readonly code = 'INVALID_ENV' as const;
}

/** Parses a set of variables; empty strings count as unset, as in most `.env` files. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ''));
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const name = issue.path.join('.') || 'environment';
    const message = issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`;
    throw new EnvError(`Invalid environment variable ${name}. ${message}`);
  }
  return result.data;
}

let cached: Env | undefined;

export function env(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

/** For tests that change process.env between cases. */
export function resetEnvCache() {
  cached = undefined;
}

/**
 * The provider's id of a product (a plan or pack id of src/config): `STRIPE_PRICE_PRO_MONTHLY` holds
 * Stripe's price id of `pro-monthly`, `CREEM_PRODUCT_PRO_MONTHLY` Creem's product id. Read here, the
 * one module that reads the environment; the names follow the product ids, so `.env.example` lists them.
 */
export function providerProductEnvName(provider: 'stripe' | 'creem', productId: string): string {
  return `${provider.toUpperCase()}_${provider === 'stripe' ? 'PRICE' : 'PRODUCT'}_${productId.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
}

export function providerProductId(provider: 'stripe' | 'creem', productId: string): string | undefined {
  return process.env[providerProductEnvName(provider, productId)] || undefined;
}
