import { afterAll, beforeAll, expect } from 'vitest';
import { resetEnvCache } from '@/env';
import type { Auth } from '@/lib/server/auth/auth';
import { startMailbox, type Mailbox, type ReceivedMail } from './mailbox';

/**
 * A real SMTP server for this file, with `SMTP_URL` pointing at it, so the app's account mails
 * (verification, reset, "account exists") arrive where the test can read them.
 */
export function setupMailbox(): { readonly current: Mailbox } {
  const box = {} as { current: Mailbox };
  let saved: string | undefined;
  beforeAll(async () => {
    box.current = await startMailbox();
    saved = process.env.SMTP_URL;
    process.env.SMTP_URL = box.current.url;
    resetEnvCache();
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.SMTP_URL;
    else process.env.SMTP_URL = saved;
    resetEnvCache();
    await box.current?.close();
  });
  return box;
}

/** The first mail of `kind` sent to `email` (arrived or arriving). */
export function mailTo(mailbox: Mailbox, kind: string, email: string): Promise<ReceivedMail> {
  return mailbox.waitFor((mail) => mail.kind === kind && mail.to.includes(email));
}

/** A session cookie (`name=value`) out of a response's Set-Cookie headers, if any. */
export function sessionCookie(response: Response): string | null {
  const cookie = response.headers.getSetCookie().find((line) => line.startsWith('better-auth.session_token='));
  return cookie ? cookie.split(';')[0]! : null;
}

/** Follows a mailed link to `/api/auth/…` through Better Auth's own HTTP handler, as a browser would (without following redirects). */
export function follow(auth: Auth, link: string): Promise<Response> {
  return auth.handler(new Request(link));
}

export type SignUp = { name: string; email: string; password: string };

/**
 * Signs up as a user does and clicks the verification link that was mailed: the account a user has
 * once they can sign in, with their welcome credits. Returns the user's id and the session the link
 * opened.
 */
export async function signUpAndVerify(auth: Auth, mailbox: Mailbox, account: SignUp): Promise<{ userId: string; cookie: string }> {
  const { user } = await auth.api.signUpEmail({ body: account });
  const mail = await mailTo(mailbox, 'verify-email', account.email);
  const response = await follow(auth, mail.links[0]!);
  expect(response.status).toBeLessThan(400);
  const cookie = sessionCookie(response);
  expect(cookie, 'the verification link signs the user in').not.toBeNull();
  return { userId: user.id, cookie: cookie! };
}
