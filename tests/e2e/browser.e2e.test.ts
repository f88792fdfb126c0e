import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { creditsConfig, findPlan, type MonthlyPlan } from '@/config/credits';
import { connect } from '@/lib/server/db/client';
import { users } from '@/lib/server/db/schema';
import { addUtcDays, addUtcMonths } from '@/lib/server/credits/time';
import { startSubscription } from '@/lib/server/usecases/start-subscription';
import { startApp, type App } from './helpers/app';
import { signUpAndVerify } from './helpers/accounts';

// A real browser (Debian's Chromium, driven by playwright-core) against the production build on Postgres.
const SCREENSHOT = path.resolve(import.meta.dirname, '../../test-results/credits-page.png');
const CRON_SECRET = randomBytes(24).toString('hex');

let app: App;
let browser: Browser;

beforeAll(async () => {
  app = await startApp({ env: { CRON_SECRET } });
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

/** Waits until the element with this test id contains `text` (the page re-renders after each action). */
async function waitForText(page: Page, testId: string, text: string) {
  await page.waitForFunction(
    ([id, expected]) => document.querySelector(`[data-testid="${id}"]`)?.textContent?.includes(expected) ?? false,
    [testId, text] as const,
    { timeout: 15_000 },
  );
}

const textOf = async (page: Page, testId: string) => (await page.getByTestId(testId).first().textContent())?.trim();

function cronCall(route: string) {
  return fetch(`${app.baseUrl}${route}`, { method: 'POST', headers: { Authorization: `Bearer ${CRON_SECRET}` } });
}

it('a newcomer signs up, sees the welcome credits, spends some, cannot overspend, and sees the grant job’s credits', async () => {
  const page = await browser.newPage({ locale: 'en-US', viewport: { width: 1100, height: 900 } });
  const email = `e2e-${randomBytes(4).toString('hex')}@example.test`;
  const welcome = creditsConfig.signupBonus.credits + creditsConfig.freeTier.credits;
  const cost = creditsConfig.demoActionCost;

  // Signed out, the credits page sends you to sign in.
  await page.goto(`${app.baseUrl}/credits`);
  expect(new URL(page.url()).pathname).toBe('/sign-in');

  // Sign up and open the mailed link: the bonus and the free month are on the page and in the header.
  await page.goto(`${app.baseUrl}/sign-up`);
  await signUpAndVerify(page, app, { name: 'E2E User', email, password: 'correct horse battery staple' });
  expect(await textOf(page, 'balance')).toBe(credits(welcome));
  expect(await textOf(page, 'balance-badge')).toBe(`${credits(welcome)} credits`);
  const history = await textOf(page, 'history');
  expect(history).toContain('Sign-up bonus');
  expect(history).toContain(`+${credits(creditsConfig.signupBonus.credits)}`);
  expect(history).toContain('Free monthly credits');

  // Spend once: the balance falls, on the page and in the header.
  await page.click('button:has-text("Run the demo action")');
  await waitForText(page, 'spend-message', `Spent ${cost} credits`);
  await waitForText(page, 'balance', credits(welcome - cost));
  expect(await textOf(page, 'balance-badge')).toBe(`${credits(welcome - cost)} credits`);

  // The same form sent twice (same hidden key) spends once.
  await page.evaluate(() => {
    const form = document.querySelector('[data-testid="spend-form"]') as HTMLFormElement;
    form.requestSubmit();
    form.requestSubmit();
  });
  await waitForText(page, 'spend-message', 'already recorded');
  await page.reload();
  expect(await textOf(page, 'balance')).toBe(credits(welcome - 2 * cost));

  // Overspend: a clear message, and nothing changes.
  const before = welcome - 2 * cost;
  await page.fill('input[name=runs]', '100');
  await page.click('button:has-text("Run the demo action")');
  await waitForText(page, 'spend-message', 'Not enough credits');
  expect(await textOf(page, 'spend-message')).toBe(
    `Not enough credits: this costs ${credits(100 * cost)} and you have ${credits(before)} available. Nothing was spent.`,
  );
  await page.reload();
  expect(await textOf(page, 'balance')).toBe(credits(before));

  // A run whose work fails: its credits were held while it ran, and are given back.
  await page.fill('input[name=runs]', '1');
  await page.check('input[name=fail]');
  await page.click('button:has-text("Run the demo action")');
  await waitForText(page, 'spend-message', 'nothing was spent');
  await page.reload();
  expect(await textOf(page, 'balance')).toBe(credits(before));
  const afterFailure = await textOf(page, 'history');
  expect(afterFailure).toContain('Reserved, given back');
  expect(afterFailure).toContain('Spent from reserved');

  // A monthly plan bought a month and a day ago (test-only: straight through the usecase), so its
  // second period is due; its first period's credits have already run out.
  const monthly = findPlan(creditsConfig, 'pro-monthly') as MonthlyPlan;
  const db = await connect({ url: app.databaseUrl, maxConnections: 1 });
  try {
    const [user] = await db.db.select().from(users).where(eq(users.email, email));
    const started = await startSubscription(db.db, {
      userId: user!.id,
      planId: monthly.id,
      subscriptionId: `sub-${user!.id}`,
      now: addUtcDays(addUtcMonths(new Date(), -1), -1),
    });
    expect(started.ok).toBe(true);
  } finally {
    await db.close();
  }
  // The expiry job clears the first period's credits, so the page shows only what can be spent.
  const expire = await cronCall('/api/jobs/credits/expire');
  expect(expire.status).toBe(200);
  await page.reload();
  expect(await textOf(page, 'balance')).toBe(credits(before));

  // The daily grant job, called as Vercel Cron calls it, grants the current period.
  const grant = await cronCall('/api/jobs/credits/grant');
  expect(grant.status).toBe(200);
  expect(await grant.json()).toMatchObject({ success: true, results: { successful: 1, failed: 0 } });
  await page.reload();
  expect(await textOf(page, 'balance')).toBe(credits(before + monthly.creditsPerPeriod));
  expect(await textOf(page, 'balance-badge')).toBe(`${credits(before + monthly.creditsPerPeriod)} credits`);
  const newest = await page.locator('[data-testid="history"] tbody tr').first().textContent();
  expect(newest).toContain(`+${credits(monthly.creditsPerPeriod)}`);
  expect(newest).toContain('Monthly subscription');
  expect(await textOf(page, 'next-grant')).toContain(monthly.name);

  mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  // Signing out ends the session: the credits page is closed again.
  await page.click('button:has-text("Sign out")');
  await page.waitForURL(`${app.baseUrl}/`);
  await page.goto(`${app.baseUrl}/credits`);
  expect(new URL(page.url()).pathname).toBe('/sign-in');
  await page.close();
});
