import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import type { App } from './app';

export type BrowserSignUp = { name: string; email: string; password: string };

/**
 * On the sign-up page, signs up through the form as a newcomer does, then opens the verification link
 * the app mailed (from `app.mailbox`): the browser lands signed in on the page the sign-up came from
 * (`landing`, the credits page by default), with the welcome credits granted. `notice`: the start of
 * the "check your inbox" notice in the page's language.
 */
export async function signUpAndVerify(page: Page, app: App, account: BrowserSignUp, landing = '**/credits', notice = 'Check your inbox') {
  await page.fill('input[name=name]', account.name);
  await page.fill('input[name=email]', account.email);
  await page.fill('input[name=password]', account.password);
  await page.click('main button[type=submit]');
  await page.getByTestId('form-notice').waitFor({ timeout: 30_000 });
  expect(await page.getByTestId('form-notice').textContent()).toContain(notice);
  const mail = await app.mailbox.waitFor((m) => m.kind === 'verify-email' && m.to.includes(account.email), 30_000);
  await page.goto(mail.links[0]!);
  await page.waitForURL(landing);
}
