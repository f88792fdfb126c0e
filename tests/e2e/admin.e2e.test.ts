import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { connect } from '@/lib/server/db/client';
import { users } from '@/lib/server/db/schema';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { checkInvariants } from '@/lib/server/usecases/check-invariants';
import { launchChromium } from './helpers/browser';
import { startApp, type App } from './helpers/app';
import { signUpAndVerify } from './helpers/accounts';

// The admin console in a real browser (Debian's Chromium) against the production build on Postgres,
// with its first admin named by ADMIN_EMAILS.
const SCREENSHOTS = path.resolve(import.meta.dirname, '../../test-results');
const ADMIN_EMAIL = `admin-${randomBytes(4).toString('hex')}@example.test`;
const password = 'correct horse battery staple';

let app: App;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  app = await startApp({ env: { ADMIN_EMAILS: ` ${ADMIN_EMAIL.toUpperCase()} ` } });
  browser = await launchChromium();
});

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`--- app logs ---\n${app?.logs()}`);
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

const textOf = async (page: Page, testId: string) => (await page.getByTestId(testId).first().textContent())?.trim();

async function waitForText(page: Page, testId: string, text: string) {
  await page.waitForFunction(
    ([id, expected]) => document.querySelector(`[data-testid="${id}"]`)?.textContent?.includes(expected) ?? false,
    [testId, text] as const,
    { timeout: 30_000 },
  );
}

async function signUp(page: Page, email: string) {
  await page.goto(`${app.baseUrl}/sign-up`);
  await signUpAndVerify(page, app, { name: email.split('@')[0]!, email, password });
}

it('a user gets 404 at /admin; the admin sees last night’s run, adjusts a user’s credits, finds it in the ledger and the audit, and voids the run after its preview', async () => {
  // A normal user: no link, and the console does not exist for them.
  const userPage = await browser.newPage({ locale: 'en-US' });
  const userEmail = `user-${randomBytes(4).toString('hex')}@example.test`;
  await signUp(userPage, userEmail);
  expect(await userPage.getByTestId('admin-link').count()).toBe(0);
  for (const path of ['/admin', '/admin/jobs', '/admin/users', '/admin/audit']) {
    const response = await userPage.goto(`${app.baseUrl}${path}`);
    expect(response?.status(), path).toBe(404);
  }
  await userPage.close();

  // Last night's grant run, through the job's usecase: it grants a user who has no credits yet.
  const handle = await connect({ url: app.databaseUrl, maxConnections: 1 });
  let jobId: string;
  try {
    await handle.db.insert(users).values({
      id: `seeded-${randomBytes(4).toString('hex')}`,
      email: `seeded-${randomBytes(4).toString('hex')}@example.test`,
      name: 'Seeded',
      emailVerified: true,
    });
    ({ jobId } = await grantMonthlyCredits(handle.db, { trigger: 'vercel-cron' }));
  } finally {
    await handle.close();
  }

  // The admin (ADMIN_EMAILS, any case) signs up and lands on the runs.
  const page = await browser.newPage({ locale: 'en-US', viewport: { width: 1280, height: 1000 } });
  await signUp(page, ADMIN_EMAIL);
  await page.click('[data-testid="admin-link"]');
  await page.waitForURL('**/admin/jobs');
  const runs = await textOf(page, 'job-runs');
  expect(runs).toContain('grant');
  expect(runs).toContain('vercel-cron');
  expect(runs).toContain('successful=1');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'admin-jobs.png'), fullPage: true });

  // Opens the user, adjusts +500 with a reason, and sees it in the ledger.
  await page.click('nav[aria-label="Admin"] >> text=Users');
  await page.fill('input[name=q]', userEmail.toUpperCase());
  await page.click('button:has-text("Search")');
  await page.click(`a:has-text("${userEmail}")`);
  await page.waitForURL('**/admin/users/**');
  const before = Number((await textOf(page, 'user-balance'))!.replace(/,/g, ''));
  await page.fill('[data-testid="adjust"] input[name=delta]', '500');
  await page.fill('[data-testid="adjust"] input[name=reason]', 'outage of last night');
  await page.click('[data-testid="adjust"] button[type=submit]');
  await waitForText(page, 'adjust-message', 'Gave 500 credits');
  await waitForText(page, 'user-balance', (before + 500).toLocaleString('en-US'));
  const newest = await page.locator('[data-testid="user-ledger"] tbody tr').first().textContent();
  expect(newest).toContain('+500');
  expect(newest).toContain('outage of last night');
  expect(newest).toContain(`by admin:${ADMIN_EMAIL}`);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'admin-user.png'), fullPage: true });

  // The audit trail lists it.
  await page.click('nav[aria-label="Admin"] >> text=Audit');
  await page.waitForURL('**/admin/audit');
  const audit = await page.locator('[data-testid="audit"] tbody tr').first().textContent();
  expect(audit).toContain('Adjust credits');
  expect(audit).toContain(ADMIN_EMAIL);
  expect(audit).toContain(userEmail);
  expect(audit).toContain('delta=500');
  expect(audit).toContain('done');

  // Voids the run: the preview first, then the confirmation.
  await page.goto(`${app.baseUrl}/admin/jobs/${jobId}`);
  expect(await textOf(page, 'run-entries')).toContain('1 entries, 50 credits');
  await page.click('[data-testid="preview-void"]');
  await waitForText(page, 'void-preview', 'would take 50 credits from 1 batches of 1 users');
  await page.fill('[data-testid="void-run"] input[name=reason]', 'granted by mistake');
  await page.check('[data-testid="void-run"] input[name=confirm]');
  await page.click('[data-testid="void-run"] button[type=submit]');
  await waitForText(page, 'void-run-message', 'Voided: 50 credits taken from 1 batches of 1 users');
  await page.goto(`${app.baseUrl}/admin/jobs/${jobId}`);
  expect(await textOf(page, 'run-status')).toContain('voided: 50 credits taken back from 1 users');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'admin-run.png'), fullPage: true });
  await page.close();

  const check = await connect({ url: app.databaseUrl, maxConnections: 1 });
  try {
    expect((await checkInvariants(check.db, {})).violations).toEqual([]);
  } finally {
    await check.close();
  }
});
