import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { creditsConfig, findPlan } from '@/config/credits';
import { startOfNextUtcMonth } from '@/lib/server/credits/time';
import { signUpAndVerify } from './helpers/accounts';
import { launchChromium } from './helpers/browser';
import { startApp, type App } from './helpers/app';
import { watchCspViolations } from './helpers/csp';

// The app in Simplified Chinese for a browser that asks for it, and in English after the header's
// switcher: Debian's Chromium against the production build on Postgres.
const ADMIN_EMAIL = `admin-${randomBytes(4).toString('hex')}@example.test`;
const password = 'correct horse battery staple';

let app: App;
let browser: Browser;

beforeAll(async () => {
  app = await startApp({ env: { ADMIN_EMAILS: ADMIN_EMAIL }, nodeEnv: 'test' });
  browser = await launchChromium();
});

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`--- app logs ---\n${app?.logs()}`);
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

type Tree = { [key: string]: string | Tree };
const leaves = (tree: Tree, prefix = ''): string[] =>
  Object.entries(tree).flatMap(([key, value]) => (typeof value === 'string' ? [`${prefix}${key}`] : leaves(value, `${prefix}${key}.`)));
/** Every message key (`credits.balance.title`): next-intl shows the key where a message is missing. */
const messageKeys = leaves(JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../messages/en.json'), 'utf8')));

/** A browser that asks for Chinese, as a browser set to Chinese does (navigator.language and the header). */
function chineseBrowser(): Promise<BrowserContext> {
  return browser.newContext({
    locale: 'zh-CN',
    extraHTTPHeaders: { 'Accept-Language': 'zh-CN,zh;q=0.9,en;q=0.8' },
    viewport: { width: 1280, height: 1000 },
  });
}

const textOf = async (page: Page, selector: string) => (await page.locator(selector).first().innerText()).trim();

/** Opens a page and checks that it rendered no message key, and that the server reported no missing or broken message. */
async function visit(page: Page, pathname: string): Promise<string> {
  const response = await page.goto(`${app.baseUrl}${pathname}`);
  expect(response?.status(), pathname).toBe(200);
  return expectNoRawKeys(page, pathname);
}

async function expectNoRawKeys(page: Page, where: string): Promise<string> {
  const text = await page.locator('body').innerText();
  expect(
    messageKeys.filter((key) => text.includes(key)),
    where,
  ).toEqual([]);
  expect(app.logs()).not.toMatch(/MISSING_MESSAGE|FORMATTING_ERROR|INVALID_MESSAGE/);
  return text;
}

/** Signs up in Chinese: the "check your inbox" notice is Chinese, and the mailed link leads to /credits. */
async function signUp(page: Page, email: string, name: string) {
  await page.goto(`${app.baseUrl}/sign-up`);
  expect(await textOf(page, 'h1')).toBe('创建账户');
  await expectNoRawKeys(page, '/sign-up');
  await signUpAndVerify(page, app, { name, email, password }, '**/credits', '请查收邮件');
}

const zhNumber = (n: number) => new Intl.NumberFormat('zh-CN').format(n);
const zhDate = (date: Date) => new Intl.DateTimeFormat('zh-CN', { dateStyle: 'medium', timeZone: 'UTC' }).format(date);
const zhDateTime = (date: Date) =>
  `${new Intl.DateTimeFormat('zh-CN', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(date)} UTC`;

it('with Accept-Language zh-CN a newcomer signs up and reads /credits and /pricing in Chinese, numbers and dates formatted for China; English from the header stays after a reload', async () => {
  const context = await chineseBrowser();
  const cspViolations = await watchCspViolations(context);
  const page = await context.newPage();
  const welcome = creditsConfig.signupBonus.credits + creditsConfig.freeTier.credits;

  // Signed out: the home and sign-in pages are Chinese.
  expect(await visit(page, '/')).toContain('创建账户');
  expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
  await visit(page, '/sign-in');
  expect(await textOf(page, 'h1')).toBe('登录');
  expect((await page.goto(`${app.baseUrl}/no-such-page`))?.status()).toBe(404);
  expect(await textOf(page, 'h1')).toBe('页面不存在');

  // A form error comes back in Chinese.
  await page.goto(`${app.baseUrl}/sign-up`);
  await page.fill('input[name=name]', '张三');
  await page.fill('input[name=email]', 'not-an-email');
  await page.fill('input[name=password]', password);
  await page.click('main button[type=submit]');
  await page.waitForSelector('[data-testid="form-error"]');
  expect(await textOf(page, '[data-testid="form-error"]')).toBe('请输入有效的邮箱地址。');

  // The account pages main's verification and reset flows added: refusals and notices in Chinese.
  await visit(page, '/sign-in');
  await page.fill('input[name=email]', 'nobody@example.test');
  await page.fill('input[name=password]', 'not the password');
  await page.click('main button[type=submit]');
  await page.waitForSelector('[data-testid="form-error"]');
  expect(await textOf(page, '[data-testid="form-error"]')).toBe('邮箱或密码错误。');
  await expectNoRawKeys(page, 'a refused sign-in');
  await page.click('a[href="/forgot-password"]');
  await page.waitForURL('**/forgot-password');
  expect(await textOf(page, 'h1')).toBe('忘记密码？');
  await page.fill('input[name=email]', 'nobody@example.test');
  await page.click('main button[type=submit]');
  await page.waitForSelector('[data-testid="form-notice"]');
  expect(await textOf(page, '[data-testid="form-notice"]')).toContain('请查收邮件：如果有账户使用 nobody@example.test');
  await expectNoRawKeys(page, 'the reset request');
  await visit(page, '/reset-password?error=INVALID_TOKEN');
  expect(await textOf(page, 'h1')).toBe('设置新密码');
  expect(await textOf(page, '[data-testid="form-error"]')).toBe('此链接已过期或已被使用。重新获取链接。');
  expect((await page.goto(`${app.baseUrl}/unsubscribe`))?.status()).toBe(400);
  expect(await textOf(page, 'h1')).toBe('此退订链接无效。');
  await expectNoRawKeys(page, '/unsubscribe');

  // Sign up: the credits page, the badge and the history speak Chinese, with China's number and date formats.
  await signUp(page, `zh-${randomBytes(4).toString('hex')}@example.test`, '张三');
  const signedUpAt = new Date();
  const credits = await expectNoRawKeys(page, '/credits');
  expect(await textOf(page, 'h1')).toBe('我的积分');
  expect(await textOf(page, '[data-testid="balance"]')).toBe(zhNumber(welcome));
  expect(await textOf(page, '[data-testid="balance-badge"]')).toBe(`${zhNumber(welcome)} 积分`);
  const history = await textOf(page, '[data-testid="history"]');
  expect(history).toContain('注册奖励');
  expect(history).toContain('每月免费积分');
  expect(history).toContain(`+${zhNumber(creditsConfig.signupBonus.credits)}`);
  expect(history).toContain(zhDate(signedUpAt)); // 2026年11月23日
  expect(await textOf(page, '[data-testid="next-grant"]')).toContain(zhDateTime(startOfNextUtcMonth(signedUpAt))); // 2026年12月1日 00:00 UTC
  expect(credits).not.toContain('Your credits');

  // The expiry reminders' toggle, and what its action answers.
  expect(await textOf(page, '[data-testid="expiry-notices-form"]')).toContain(
    `当你的部分积分将在 ${creditsConfig.expiryNotices.daysAhead} 天内到期时`,
  );
  await page.click('[data-testid="expiry-notices-form"] button');
  await page.waitForSelector('[data-testid="expiry-notices-form"] [role="status"]');
  expect(await textOf(page, '[data-testid="expiry-notices-form"] [role="status"]')).toBe('你将不再收到积分到期的邮件。');

  // Spending answers in Chinese too (a server action's message).
  await page.click('button:has-text("运行示例操作")');
  await page.waitForSelector('[data-testid="spend-message"]', { timeout: 15_000 });
  expect(await textOf(page, '[data-testid="spend-message"]')).toBe(`已使用 ${zhNumber(creditsConfig.demoActionCost)} 积分。`);

  // Pricing: Chinese words, the price in China's currency format ("US$19.00"), the cadence in Chinese.
  const pricing = await visit(page, '/pricing');
  expect(await textOf(page, 'h1')).toBe('价格');
  expect(pricing).toContain('月度套餐');
  const pro = findPlan(creditsConfig, 'pro-monthly')!;
  const proPrice = new Intl.NumberFormat('zh-CN', { style: 'currency', currency: pro.price.currency.toUpperCase() }).format(
    pro.price.amount / 100,
  );
  expect(await textOf(page, '[data-testid="product-pro-monthly"]')).toContain(`${proPrice} / 月`);
  await visit(page, '/billing');
  expect(await textOf(page, 'h1')).toBe('账单');

  // English from the header's switcher: the page re-renders in English, and stays English after a reload.
  await page.goto(`${app.baseUrl}/credits`);
  await page.click('[data-testid="locale-en"]');
  await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'Your credits', null, { timeout: 15_000 });
  await page.reload();
  expect(await textOf(page, 'h1')).toBe('Your credits');
  expect(await textOf(page, '[data-testid="balance-badge"]')).toMatch(/^[\d,]+ credits$/);
  expect(await page.locator('html').getAttribute('lang')).toBe('en');
  expect((await context.cookies()).find((cookie) => cookie.name === 'NEXT_LOCALE')?.value).toBe('en');
  await visit(page, '/pricing');
  expect(await textOf(page, 'h1')).toBe('Pricing');

  // And back to Chinese.
  await page.click('[data-testid="locale-zh-CN"]');
  await page.waitForFunction(() => document.querySelector('h1')?.textContent === '价格', null, { timeout: 15_000 });
  expect(cspViolations).toEqual([]);
  await context.close();
});

it('an admin page renders in Chinese and in English, with no raw key on any console page', async () => {
  const context = await chineseBrowser();
  const cspViolations = await watchCspViolations(context);
  const page = await context.newPage();
  await signUp(page, ADMIN_EMAIL, 'Admin');

  for (const [pathname, heading] of [
    ['/admin/jobs', '任务'],
    ['/admin/users', '用户'],
    ['/admin/audit', '审计日志'],
  ] as const) {
    await visit(page, pathname);
    expect(await textOf(page, 'h1'), pathname).toBe(heading);
  }
  // The admin's own page, with its forms.
  await page.goto(`${app.baseUrl}/admin/users`);
  await page.click(`[data-testid="user-results"] a:has-text("${ADMIN_EMAIL}")`);
  await page.waitForURL('**/admin/users/**');
  const userPage = await expectNoRawKeys(page, 'the user page');
  expect(userPage).toContain('调整积分');
  expect(userPage).toContain('注册奖励');

  await page.goto(`${app.baseUrl}/admin/jobs`);
  await page.click('[data-testid="locale-en"]');
  await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'Jobs', null, { timeout: 15_000 });
  for (const [pathname, heading] of [
    ['/admin/jobs', 'Jobs'],
    ['/admin/users', 'Users'],
    ['/admin/audit', 'Audit trail'],
  ] as const) {
    await visit(page, pathname);
    expect(await textOf(page, 'h1'), pathname).toBe(heading);
  }
  expect(cspViolations).toEqual([]);
  await context.close();
});
