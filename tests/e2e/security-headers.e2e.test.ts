import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { creditsConfig } from '@/config/credits';
import { signUpAndVerify } from './helpers/accounts';
import { launchChromium } from './helpers/browser';
import { startApp, type App } from './helpers/app';
import { watchCspViolations } from './helpers/csp';

// The security headers and the nonce Content-Security-Policy of the production build (`next start`),
// over HTTP and in a real browser (Debian's Chromium) that visits every page of the app and uses its
// forms: the policy must block nothing the app itself does.
const CRON_SECRET = randomBytes(24).toString('hex');
const ADMIN_EMAIL = `admin-${randomBytes(4).toString('hex')}@example.test`;
const password = 'correct horse battery staple';
const nonceOf = (policy: string | null) => /'nonce-([^']+)'/.exec(policy ?? '')?.[1];

describe('next start in production', () => {
  let app: App;
  beforeAll(async () => {
    app = await startApp({ env: { CRON_SECRET } });
  });
  afterEach((context) => {
    if (context.task.result?.state === 'fail') console.error(`--- app logs ---\n${app?.logs()}`);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it.each([
    ['a page', '/sign-in', {}],
    ['an API route', '/api/auth/get-session', {}],
    ['a cron route', '/api/jobs/credits/grant?dryRun=true', { authorization: `Bearer ${CRON_SECRET}` }],
  ])('%s (%s) carries every security header, HSTS included', async (_, path, headers) => {
    const response = await fetch(`${app.baseUrl}${path}`, { headers });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    expect(response.headers.get('permissions-policy')).toMatch(/camera=\(\).*geolocation=\(\).*microphone=\(\)/);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('a page has a strict nonce policy, with a new nonce on every request, and its scripts carry it', async () => {
    const [first, second] = await Promise.all([fetch(`${app.baseUrl}/`), fetch(`${app.baseUrl}/`)]);
    const policy = first.headers.get('content-security-policy')!;
    expect(policy).toMatch(/script-src 'self' 'nonce-[^']+' 'strict-dynamic'(;|$)/);
    expect(policy).not.toContain('unsafe');
    expect(policy).toContain('upgrade-insecure-requests');
    const nonce = nonceOf(policy)!;
    expect(nonce).toBeTruthy();
    expect(nonceOf(second.headers.get('content-security-policy'))).not.toBe(nonce);

    const html = await first.text();
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map(([tag]) => tag);
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
    // No inline style attribute in the markup: style-src would refuse it.
    expect(html).not.toMatch(/<[^>]+\sstyle="/);
  });

  it('an API route gets no page policy (it answers JSON)', async () => {
    const response = await fetch(`${app.baseUrl}/api/auth/get-session`);
    expect(response.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
  });

  it('refuses to start without BETTER_AUTH_URL, saying so', async () => {
    await expect(startApp({ env: { BETTER_AUTH_URL: '' } })).rejects.toThrow(/BETTER_AUTH_URL is required in production/);
  });
});

describe('every page in a browser, with the test checkout', () => {
  let app: App;
  let browser: Browser;
  let context: BrowserContext;
  let violations: string[] = [];

  beforeAll(async () => {
    // Outside production (NODE_ENV=test), so the labelled test checkout is there to buy through.
    app = await startApp({ env: { CRON_SECRET, ADMIN_EMAILS: ADMIN_EMAIL }, nodeEnv: 'test' });
    browser = await launchChromium();
    context = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 900 } });
    // Every document reports what its policy blocked; console messages name blocked inline code too.
    violations = await watchCspViolations(context);
  });
  afterEach((task) => {
    if (task.task.result?.state === 'fail') console.error(`--- app logs ---\n${app?.logs()}`);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  const visited: string[] = [];
  /** Opens a page, waits for its scripts to run, and checks the policy it came with. */
  async function visit(page: Page, path: string, expectedPath = path.split('?')[0]) {
    const response = await page.goto(`${app.baseUrl}${path}`);
    await page.waitForLoadState('networkidle');
    expect(new URL(page.url()).pathname, path).toBe(expectedPath);
    await expectHydrated(page);
    expect(response?.status(), path).toBe(200);
    expect(nonceOf(await response!.headerValue('content-security-policy')), path).toBeTruthy();
    visited.push(new URL(page.url()).pathname);
  }
  /** Next's scripts ran (they hold the nonce): the router is up. */
  const expectHydrated = async (page: Page) =>
    expect(await page.waitForFunction(() => (window as unknown as { next?: { version?: string } }).next?.version)).toBeTruthy();
  const waitForText = (page: Page, selector: string, text: string) =>
    page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent?.includes(t) ?? false, [selector, text] as const, {
      timeout: 30_000,
    });

  it('no page, form or redirect of the app trips the Content-Security-Policy', async () => {
    const page = await context.newPage();

    // Signed out: home, sign-in, sign-up; a signed-out visit to the credits page lands on sign-in.
    await visit(page, '/');
    await visit(page, '/sign-in');
    await visit(page, '/credits', '/sign-in');
    await visit(page, '/pricing');

    // Sign up through the form (a server action), then the mailed link, as an admin listed in ADMIN_EMAILS.
    await visit(page, '/sign-up');
    await signUpAndVerify(page, app, { name: 'Security Admin', email: ADMIN_EMAIL, password });
    await expectHydrated(page);

    // Spend on the credits page (a form answered in place).
    await visit(page, '/credits');
    await page.click('button:has-text("Run the demo action")');
    await waitForText(page, '[data-testid="spend-message"]', `Spent ${creditsConfig.demoActionCost} credits`);

    // A real test checkout: pricing → the test checkout page → Pay → the success page.
    await visit(page, '/pricing');
    await page.click('[data-testid="buy-pack-500"]');
    await page.waitForURL('**/checkout/test/**');
    await page.waitForLoadState('networkidle');
    await expectHydrated(page);
    visited.push(new URL(page.url()).pathname);
    await visit(page, new URL(page.url()).pathname);
    await page.click('[data-testid="pay-test"]');
    await page.waitForURL('**/checkout/success?**');
    await page.waitForLoadState('networkidle');
    await expectHydrated(page);
    expect(await page.getByTestId('credits-added').textContent()).toContain('+500 credits');
    const success = new URL(page.url());
    await visit(page, `${success.pathname}${success.search}`);
    await visit(page, '/billing');

    // The admin console, after a run of the grant job through its cron route.
    const run = await fetch(`${app.baseUrl}/api/jobs/credits/grant`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CRON_SECRET}` },
    });
    expect(run.status).toBe(200);
    await visit(page, '/admin', '/admin/jobs');
    await visit(page, '/admin/jobs');
    await page.click('[data-testid="job-runs"] tbody a');
    await page.waitForURL('**/admin/jobs/**');
    await page.waitForLoadState('networkidle');
    await visit(page, new URL(page.url()).pathname);
    await visit(page, `/admin/users?q=${encodeURIComponent(ADMIN_EMAIL)}`);
    await page.click(`[data-testid="user-results"] a:has-text("${ADMIN_EMAIL}")`);
    await page.waitForURL('**/admin/users/**');
    await page.waitForLoadState('networkidle');
    await visit(page, new URL(page.url()).pathname);
    await visit(page, '/admin/audit');

    // Sign out and back in through the sign-in form.
    await page.click('button:has-text("Sign out")');
    await page.waitForURL(`${app.baseUrl}/`);
    await visit(page, '/sign-in');
    await page.fill('input[name=email]', ADMIN_EMAIL);
    await page.fill('input[name=password]', password);
    await page.click('main button[type=submit]');
    await page.waitForURL('**/credits');
    await page.waitForLoadState('networkidle');

    // A page that does not exist is the app's own 404, under the same policy.
    const missing = await page.goto(`${app.baseUrl}/no-such-page`);
    expect(missing?.status()).toBe(404);
    expect(nonceOf(await missing!.headerValue('content-security-policy'))).toBeTruthy();
    await page.waitForLoadState('networkidle');
    await page.close();

    expect(new Set(visited)).toEqual(
      new Set([
        '/',
        '/sign-in',
        '/sign-up',
        '/credits',
        '/pricing',
        visited.find((p) => p.startsWith('/checkout/test/')),
        '/checkout/success',
        '/billing',
        '/admin/jobs',
        visited.find((p) => /^\/admin\/jobs\/.+/.test(p)),
        '/admin/users',
        visited.find((p) => /^\/admin\/users\/.+/.test(p)),
        '/admin/audit',
      ]),
    );
    expect(violations).toEqual([]);
  });
});
