import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { Browser } from 'playwright-core';
import { eq } from 'drizzle-orm';
import { authRateLimitFor } from '@/config/rate-limits';
import { connect, type DatabaseHandle } from '@/lib/server/db/client';
import { sessions, users } from '@/lib/server/db/schema';
import { launchChromium } from './helpers/browser';
import { createE2eDatabase, startApp, type App } from './helpers/app';

// Two `next start` servers on one Postgres database, as two serverless instances or two replicas
// behind a load balancer: an attacker alternating between them meets one count. The proxy's header
// is x-real-ip (TRUSTED_IP_HEADER); X-Forwarded-For is the client's own, forged anew every request.
const TRUSTED_IP_HEADER = 'x-real-ip';
const SIGN_IN = authRateLimitFor('/sign-in/email')!;
const MAX = SIGN_IN.perEmail!.max;
const password = 'correct horse battery staple';
const TOO_MANY = /^Too many attempts\. Try again in \d+ minutes?\.$/;

let database: Awaited<ReturnType<typeof createE2eDatabase>>;
let apps: App[] = [];
let handle: DatabaseHandle;
let browser: Browser | undefined;

beforeAll(async () => {
  database = await createE2eDatabase();
  const env = { DATABASE_URL: database.url, TRUSTED_IP_HEADER };
  // One after the other: the first migrates the database, the second finds it migrated.
  apps.push(await startApp({ env }));
  apps.push(await startApp({ env }));
  handle = await connect({ url: database.url, maxConnections: 2 });
});

afterEach((context) => {
  if (context.task.result?.state === 'fail')
    for (const app of apps) console.error(`--- ${app.baseUrl} logs ---\n${app.logs().slice(-4_000)}`);
});

afterAll(async () => {
  await browser?.close();
  await handle?.close();
  await Promise.all(apps.map((app) => app.stop()));
  apps = [];
  await database?.drop();
});

const newEmail = () => `e2e-${randomBytes(4).toString('hex')}@example.test`;
const forged = (i: number) => `10.0.${i}.${(i * 7) % 250}`;

function signInOver(app: App, body: { email: string; password: string }, headers: Record<string, string>) {
  return fetch(`${app.baseUrl}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: app.baseUrl, ...headers },
    body: JSON.stringify(body),
  });
}

async function signUp(app: App, email: string) {
  const response = await fetch(`${app.baseUrl}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: app.baseUrl, [TRUSTED_IP_HEADER]: '192.0.2.200' },
    body: JSON.stringify({ name: 'E2E', email, password }),
  });
  expect(response.status).toBe(200);
  const [user] = await handle.db.select().from(users).where(eq(users.email, email));
  return user!;
}

const sessionCount = async (userId: string) => (await handle.db.select().from(sessions).where(eq(sessions.userId, userId))).length;

describe('two app servers share one count', () => {
  test('20 wrong passwords alternating between the servers, each with a new forged X-Forwarded-For: 429 after the configured count on both', async () => {
    const [a, b] = apps as [App, App];
    const user = await signUp(a, newEmail());
    const sessionsBefore = await sessionCount(user.id);
    const ip = '198.51.100.7';
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const app = i % 2 === 0 ? a : b;
      const response = await signInOver(
        app,
        { email: user.email, password: `wrong ${i}` },
        { [TRUSTED_IP_HEADER]: ip, 'x-forwarded-for': forged(i) },
      );
      statuses.push(response.status);
    }
    expect(statuses).toEqual([...Array(MAX).fill(401), ...Array(20 - MAX).fill(429)]);

    // The correct password, on either server, while limited: refused, with when to come back.
    for (const app of [a, b]) {
      const response = await signInOver(app, { email: user.email, password }, { [TRUSTED_IP_HEADER]: ip, 'x-forwarded-for': forged(99) });
      expect(response.status).toBe(429);
      const retryAfter = Number(response.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(SIGN_IN.perEmail!.windowSeconds - 120);
      expect(retryAfter).toBeLessThanOrEqual(SIGN_IN.perEmail!.windowSeconds);
      expect(await response.json()).toMatchObject({ code: 'TOO_MANY_ATTEMPTS', message: expect.stringMatching(TOO_MANY) });
      expect(response.headers.get('set-cookie')).toBeNull();
    }
    expect(await sessionCount(user.id)).toBe(sessionsBefore);
  });

  test('the sign-in form, submitted in a browser alternately on each server, is refused in words after the configured count', async () => {
    const [a, b] = apps as [App, App];
    const user = await signUp(b, newEmail());
    const sessionsBefore = await sessionCount(user.id);
    browser = await launchChromium();
    const context = await browser.newContext({ extraHTTPHeaders: { [TRUSTED_IP_HEADER]: '198.51.100.8' } });
    const page = await context.newPage();

    const submit = async (app: App, attempt: string) => {
      await page.goto(`${app.baseUrl}/sign-in`);
      await page.fill('input[name=email]', user.email);
      await page.fill('input[name=password]', attempt);
      await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('button[type=submit]')]);
      await page.waitForSelector('[data-testid=form-error]');
      return (await page.textContent('[data-testid=form-error]'))?.trim();
    };

    const errors: (string | undefined)[] = [];
    for (let i = 0; i <= MAX; i++) errors.push(await submit(i % 2 === 0 ? a : b, `wrong ${i}`));
    expect(errors.slice(0, MAX)).toEqual(Array(MAX).fill('Wrong email or password.'));
    expect(errors[MAX]).toMatch(TOO_MANY);

    // The correct password while limited: the form says so, and the user stays signed out.
    expect(await submit(b, password)).toMatch(TOO_MANY);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    expect(await sessionCount(user.id)).toBe(sessionsBefore);
    await context.close();
  });
});
