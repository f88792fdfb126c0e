import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { creditsConfig } from '@/config/credits';
import { connect } from '@/lib/server/db/client';
import { creditBatches, users } from '@/lib/server/db/schema';
import { launchChromium } from './helpers/browser';
import { startApp, type App } from './helpers/app';

// Accounts in a real browser against the production build (`next start`) on Postgres; mail goes to the
// app's own SMTP server (`app.mailbox`), where the test reads the links a user would click.
let app: App;
let browser: Browser;

beforeAll(async () => {
  app = await startApp({ env: {} });
  browser = await launchChromium();
});

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`--- app logs ---\n${app?.logs()}`);
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

const credits = (n: number) => new Intl.NumberFormat('en-US').format(n);
const textOf = async (page: Page, testId: string) => (await page.getByTestId(testId).first().textContent())?.trim();
const password = 'correct horse battery staple';

async function grantsOf(email: string) {
  const handle = await connect({ url: app.databaseUrl, maxConnections: 1 });
  try {
    const [user] = await handle.db.select().from(users).where(eq(users.email, email));
    const batches = user ? await handle.db.select().from(creditBatches).where(eq(creditBatches.userId, user.id)) : [];
    return { user, batches };
  } finally {
    await handle.close();
  }
}

it('a newcomer signs up, has no credits until the mailed link is opened, then lands on the credits page with the welcome credits', async () => {
  const page = await browser.newPage({ locale: 'en-US' });
  const email = `newcomer-${randomBytes(4).toString('hex')}@example.test`;
  await page.goto(`${app.baseUrl}/sign-up`);
  await page.fill('input[name=name]', 'Newcomer');
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.getByTestId('form-notice').waitFor();
  expect(await textOf(page, 'form-notice')).toContain(`Check your inbox: we have sent a link to ${email}`);

  // No session and no credits yet.
  await page.goto(`${app.baseUrl}/credits`);
  expect(new URL(page.url()).pathname).toBe('/sign-in');
  const before = await grantsOf(email);
  expect(before.user!.emailVerified).toBe(false);
  expect(before.batches).toEqual([]);

  const mail = await app.mailbox.waitFor((m) => m.kind === 'verify-email' && m.to.includes(email));
  expect(mail.links[0]!.startsWith(`${app.baseUrl}/api/auth/verify-email?token=`)).toBe(true);
  await page.goto(mail.links[0]!);
  await page.waitForURL('**/credits');
  const welcome = creditsConfig.signupBonus.credits + creditsConfig.freeTier.credits;
  expect(await textOf(page, 'balance')).toBe(credits(welcome));
  const history = await textOf(page, 'history');
  expect(history).toContain('Sign-up bonus');
  expect(history).toContain('Free monthly credits');

  // Opening the link again grants nothing more.
  await page.goto(mail.links[0]!);
  await page.waitForURL('**/credits');
  expect(await textOf(page, 'balance')).toBe(credits(welcome));
  expect((await grantsOf(email)).batches).toHaveLength(2);
  await page.close();
});

it('a user who forgot their password resets it from the sign-in page through the mailed link and signs in with the new one', async () => {
  const email = `forgetful-${randomBytes(4).toString('hex')}@example.test`;
  const setup = await browser.newPage({ locale: 'en-US' });
  await setup.goto(`${app.baseUrl}/sign-up`);
  await setup.fill('input[name=name]', 'Forgetful');
  await setup.fill('input[name=email]', email);
  await setup.fill('input[name=password]', password);
  await setup.click('button[type=submit]');
  await setup.getByTestId('form-notice').waitFor();
  await setup.goto((await app.mailbox.waitFor((m) => m.kind === 'verify-email' && m.to.includes(email))).links[0]!);
  await setup.waitForURL('**/credits');
  await setup.close();

  const page = await browser.newPage({ locale: 'en-US' });
  await page.goto(`${app.baseUrl}/sign-in`);
  await page.click('a[href="/forgot-password"]');
  await page.waitForURL('**/forgot-password');
  await page.fill('input[name=email]', email);
  await page.click('button[type=submit]');
  await page.getByTestId('form-notice').waitFor();
  expect(await textOf(page, 'form-notice')).toContain(`if an account uses ${email}`);

  const mail = await app.mailbox.waitFor((m) => m.kind === 'reset-password' && m.to.includes(email));
  await page.goto(mail.links[0]!);
  await page.waitForURL('**/reset-password?token=**');
  await page.fill('input[name=password]', 'a brand new password');
  await page.click('button[type=submit]');
  await page.waitForURL('**/sign-in?reset=done');
  expect(await textOf(page, 'password-changed')).toContain('Your password is changed');

  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.getByTestId('form-error').waitFor();
  expect(await textOf(page, 'form-error')).toBe('Wrong email or password.');

  await page.fill('input[name=password]', 'a brand new password');
  await page.click('button[type=submit]');
  await page.waitForURL('**/credits');
  expect(await textOf(page, 'balance')).toBe(credits(creditsConfig.signupBonus.credits + creditsConfig.freeTier.credits));
  await page.close();
});
