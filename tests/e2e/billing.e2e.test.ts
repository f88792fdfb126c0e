import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { creditsConfig } from '@/config/credits';
import { startApp, type App } from './helpers/app';
import { signUpAndVerify } from './helpers/accounts';
import { waitFor } from './helpers/runs';

// Pricing → test checkout → credits and billing, in a real browser (Debian's Chromium, driven by
// playwright-core) against the production build on Postgres, with no payment keys. The test checkout
// is refused when NODE_ENV=production, so the purchase runs on the same build served with
// NODE_ENV=test (a developer's `npm run dev` is development: the same rule, outside production); a
// second app in production checks that nothing can be bought there without keys.
const root = path.resolve(import.meta.dirname, '../..');
const SCREENSHOTS = path.join(root, 'test-results');

let browser: Browser;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

const credits = (n: number) => new Intl.NumberFormat('en-US').format(n);
const textOf = async (page: Page, testId: string) => (await page.getByTestId(testId).first().textContent())?.trim();

const buyer = () => ({
  name: 'Buyer',
  email: `buyer-${randomBytes(4).toString('hex')}@example.test`,
  password: 'correct horse battery staple',
});

async function signUp(page: Page, app: App) {
  await page.goto(`${app.baseUrl}/sign-up`);
  await signUpAndVerify(page, app, buyer());
}

/** From the pricing page through the test checkout's Pay button to the success page. */
async function buyThroughTestCheckout(page: Page, baseUrl: string, productId: string) {
  await page.goto(`${baseUrl}/pricing`);
  await page.click(`[data-testid="buy-${productId}"]`);
  await page.waitForURL('**/checkout/test/**');
  expect(await textOf(page, 'test-checkout-label')).toContain('TEST CHECKOUT');
  await page.click('[data-testid="pay-test"]');
  await page.waitForURL('**/checkout/success?**');
}

describe('without keys, outside production', () => {
  let app: App;

  beforeAll(async () => {
    app = await startApp({ env: {}, nodeEnv: 'test' });
  });
  afterEach((context) => {
    if (context.task.result?.state === 'fail') console.error(`--- app logs ---\n${app?.logs()}`);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('a new user buys a credit pack through the labelled test checkout and sees it on the credits page', async () => {
    const page = await browser.newPage({ locale: 'en-US', viewport: { width: 1100, height: 900 } });
    const welcome = creditsConfig.signupBonus.credits + creditsConfig.freeTier.credits;

    // Signed out, billing sends you to sign in.
    await page.goto(`${app.baseUrl}/billing`);
    expect(new URL(page.url()).pathname).toBe('/sign-in');

    // Signed out on the pricing page: "sign in to buy" → create an account → back on the pricing page.
    await page.goto(`${app.baseUrl}/pricing`);
    await page.click('a[href^="/sign-in?next="]');
    await page.waitForURL('**/sign-in?next=**');
    await page.click('a[href^="/sign-up?next="]');
    // The verification link comes back to the pricing page.
    await signUpAndVerify(page, app, buyer(), '**/pricing');
    expect(await textOf(page, 'test-checkout-banner')).toContain('Test checkout — no real payment');
    expect(await textOf(page, 'product-pack-500')).toContain('$5.00');
    expect(await textOf(page, 'product-pro-monthly')).toContain('$19.00 / month');

    // Cancel on the test checkout: back to pricing, nothing bought.
    await page.click('[data-testid="buy-pack-500"]');
    await page.waitForURL('**/checkout/test/**');
    expect(await textOf(page, 'test-checkout-price')).toContain('$5.00');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'test-checkout-page.png'), fullPage: true });
    await page.click('button:has-text("Cancel")');
    await page.waitForURL('**/pricing');
    expect(await textOf(page, 'balance-badge')).toBe(`${credits(welcome)} credits`);

    await buyThroughTestCheckout(page, app.baseUrl, 'pack-500');
    expect(await textOf(page, 'credits-added')).toBe('+500 credits');
    const successUrl = page.url();

    await page.goto(`${app.baseUrl}/credits`);
    expect(await textOf(page, 'balance')).toBe(credits(welcome + 500));
    const newest = await page.locator('[data-testid="history"] tbody tr').first().textContent();
    expect(newest).toContain('+500');
    expect(newest).toContain('Credit pack');

    // The success page opened again and reloaded grants nothing more. (Opened by its address, not
    // by going back: the entry the Pay form's redirect pushed is restored by Next's router, which
    // raced the reload in CI.)
    await page.goto(successUrl);
    expect(await textOf(page, 'credits-added')).toBe('+500 credits');
    await page.reload();
    expect(await textOf(page, 'credits-added')).toBe('+500 credits');
    await page.goto(`${app.baseUrl}/credits`);
    expect(await textOf(page, 'balance')).toBe(credits(welcome + 500));
    await page.close();
  });

  it('a monthly plan bought through the test checkout is the current plan on the billing page, and can be set to cancel', async () => {
    const page = await browser.newPage({ locale: 'en-US', viewport: { width: 1100, height: 900 } });
    await signUp(page, app);

    await buyThroughTestCheckout(page, app.baseUrl, 'pro-monthly');
    expect(await textOf(page, 'credits-added')).toBe('+1,000 credits');

    await page.goto(`${app.baseUrl}/billing`);
    expect(await textOf(page, 'plan-name')).toBe('Pro (monthly)');
    expect(await textOf(page, 'plan-status')).toBe('Active');
    const payments = await textOf(page, 'payments');
    expect(payments).toContain('Pro (monthly)');
    expect(payments).toContain('$19.00');
    expect(payments).toContain('1,000');
    // The test checkout has no hosted portal.
    expect(await page.locator('button:has-text("Manage subscription")').count()).toBe(0);

    await page.click('[data-testid="renewal-button"]');
    await waitFor('the plan to say it cancels', async () => (await textOf(page, 'plan-status'))?.startsWith('Cancels on'), 15_000);

    await page.screenshot({ path: path.join(SCREENSHOTS, 'billing-page.png'), fullPage: true });

    await page.goto(`${app.baseUrl}/pricing`);
    expect(await textOf(page, 'product-pro-monthly')).toContain('Your plan');
    expect(await page.getByTestId('current-plan').count()).toBe(1);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'pricing-page.png'), fullPage: true });
    await page.close();
  });
});

describe('in production without keys', () => {
  let app: App;
  beforeAll(async () => {
    app = await startApp({ env: {} });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('the pricing page shows the prices but nothing can be bought, and there is no test checkout', async () => {
    const page = await browser.newPage({ locale: 'en-US' });
    await signUp(page, app);
    await page.goto(`${app.baseUrl}/pricing`);
    expect(await page.getByTestId('test-checkout-banner').count()).toBe(0);
    expect(await page.content()).toContain('Payments are not set up on this site yet');
    expect(await page.locator('[data-testid="buy-pack-500"]').isDisabled()).toBe(true);
    await page.close();
  });
});
