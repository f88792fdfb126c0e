import { describe, expect, it, vi } from 'vitest';
import { eq } from 'drizzle-orm';
import { setupTestDatabase } from '@tests/helpers/db';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf, batchesOf } from '@tests/helpers/queries';
import { mailTo, sessionCookie, signUpAndVerify, setupMailbox } from '@tests/helpers/accounts';
import { creditsConfig } from '@/config/credits';
import { users } from '@/lib/server/db/schema';

// The account forms' server actions against the real auth instance, database and SMTP server; only
// Next's request scope is stood in for (headers, cookies, and redirect thrown as Next throws it).
vi.mock('next/headers', () => ({
  headers: async () => new Headers(),
  cookies: async () => ({ get: () => undefined, getAll: () => [], set: () => {}, delete: () => {}, has: () => false }),
}));
vi.mock('next/navigation', () => ({
  redirect: (url: string) => {
    throw new Error(`redirect ${url}`);
  },
}));

const t = setupTestDatabase({ routes: true });
const mailbox = setupMailbox();
const { signUp, signIn, requestPasswordReset, resetPassword } = await import('@/app/(auth)/actions');
const { GET } = await import('@/app/api/auth/[...all]/route');
const { getAuth } = await import('@/lib/server/auth/auth');

const initial = { error: null, notice: null, name: '', email: '' };
const form = (fields: Record<string, string>) => {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
};
const password = 'correct horse battery staple';
const welcome = creditsConfig.signupBonus.credits + creditsConfig.freeTier.credits;
const userByEmail = async (email: string) => (await t.db.select().from(users).where(eq(users.email, email)))[0];

describe('the sign-up form', () => {
  it('says "check your inbox" and grants nothing; the mailed link, through the app’s route handler, verifies and grants the welcome credits once', async () => {
    const state = await signUp(initial, form({ name: 'Ann', email: 'ann@example.test', password, next: '/pricing' }));
    expect(state).toEqual({ error: null, notice: expect.stringContaining('Check your inbox'), name: 'Ann', email: 'ann@example.test' });
    const user = await userByEmail('ann@example.test');
    expect(user!.emailVerified).toBe(false);
    expect(await batchesOf(t.db, user!.id)).toEqual([]);

    const mail = await mailTo(mailbox.current, 'verify-email', 'ann@example.test');
    const link = mail.links[0]!;
    expect(link).toContain('callbackURL=%2Fpricing');
    const response = await GET(new Request(link));
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/pricing');
    expect(sessionCookie(response)).not.toBeNull();
    expect((await userByEmail('ann@example.test'))!.emailVerified).toBe(true);
    expect(await balanceOf(t.db, user!.id)).toBe(welcome);

    await GET(new Request(link));
    expect(await batchesOf(t.db, user!.id)).toHaveLength(2);
    expect(await balanceOf(t.db, user!.id)).toBe(welcome);
    await expectInvariants(t.db, user!.id);
  });

  it('answers a taken address exactly as a new one, and mails the owner instead of creating anything', async () => {
    const auth = await getAuth();
    const { userId } = await signUpAndVerify(auth, mailbox.current, { name: 'Bob', email: 'bob@example.test', password });
    const taken = await signUp(initial, form({ name: 'Someone', email: 'bob@example.test', password: 'other password' }));
    const fresh = await signUp(initial, form({ name: 'Someone', email: 'someone@example.test', password: 'other password' }));
    expect(taken).toEqual({
      ...fresh,
      notice: fresh.notice!.replace('someone@example.test', 'bob@example.test'),
      email: 'bob@example.test',
    });

    const notice = await mailTo(mailbox.current, 'account-exists', 'bob@example.test');
    expect(notice.text).toContain('you already have one');
    expect(await t.db.select().from(users).where(eq(users.email, 'bob@example.test'))).toHaveLength(1);
    expect(await balanceOf(t.db, userId)).toBe(welcome);
    await expectInvariants(t.db, userId);
  });
});

describe('the sign-in form', () => {
  it('gives the same words for an unknown address and a wrong password', async () => {
    await signUpAndVerify(await getAuth(), mailbox.current, { name: 'Cleo', email: 'cleo@example.test', password });
    const unknown = await signIn(initial, form({ email: 'nobody@example.test', password }));
    const wrong = await signIn(initial, form({ email: 'cleo@example.test', password: 'wrong password' }));
    expect(unknown.error).toBe('Wrong email or password.');
    expect(wrong).toEqual({ ...unknown, email: 'cleo@example.test' });
    await expect(signIn(initial, form({ email: 'cleo@example.test', password }))).rejects.toThrow('redirect /credits');
  });
});

describe('password reset by mailed link', () => {
  it('answers the same for an unknown address; the link sets a new password, the old one stops working and every session ends', async () => {
    const auth = await getAuth();
    const { userId, cookie: firstSession } = await signUpAndVerify(auth, mailbox.current, {
      name: 'Dee',
      email: 'dee@example.test',
      password,
    });
    const secondSession = sessionCookie(await auth.api.signInEmail({ body: { email: 'dee@example.test', password }, asResponse: true }))!;
    for (const cookie of [firstSession, secondSession]) {
      expect((await auth.api.getSession({ headers: new Headers({ cookie }) }))?.user.id).toBe(userId);
    }

    const known = await requestPasswordReset(initial, form({ email: 'dee@example.test' }));
    const unknown = await requestPasswordReset(initial, form({ email: 'nobody@example.test' }));
    expect(known.notice).toContain('Check your inbox');
    expect(unknown).toEqual({
      ...known,
      notice: known.notice!.replace('dee@example.test', 'nobody@example.test'),
      email: 'nobody@example.test',
    });
    expect(mailbox.current.messages.filter((m) => m.to.includes('nobody@example.test'))).toEqual([]);

    const mail = await mailTo(mailbox.current, 'reset-password', 'dee@example.test');
    const landing = await GET(new Request(mail.links[0]!));
    expect(landing.status).toBe(302);
    const location = new URL(landing.headers.get('location')!, 'http://localhost:3000');
    expect(location.pathname).toBe('/reset-password');
    const token = location.searchParams.get('token')!;

    await expect(resetPassword(initial, form({ token, password: 'a brand new password', next: '/sign-in?reset=done' }))).rejects.toThrow(
      'redirect /sign-in?reset=done',
    );
    for (const cookie of [firstSession, secondSession]) {
      expect(await auth.api.getSession({ headers: new Headers({ cookie }) })).toBeNull();
    }
    expect((await signIn(initial, form({ email: 'dee@example.test', password }))).error).toBe('Wrong email or password.');
    await expect(signIn(initial, form({ email: 'dee@example.test', password: 'a brand new password' }))).rejects.toThrow(
      'redirect /credits',
    );

    // The link works once.
    expect((await resetPassword(initial, form({ token, password: 'yet another password' }))).error).toBe(
      'This link has expired or was already used. Ask for a new one.',
    );
    expect(await balanceOf(t.db, userId)).toBe(welcome);
    await expectInvariants(t.db, userId);
  });
});
