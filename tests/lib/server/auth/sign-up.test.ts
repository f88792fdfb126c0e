import { beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { setupTestDatabase } from '@tests/helpers/db';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf, batchesOf, ledgerOf } from '@tests/helpers/queries';
import { follow, mailTo, sessionCookie, signUpAndVerify, setupMailbox } from '@tests/helpers/accounts';
import { creditsConfig } from '@/config/credits';
import { createAuth, type Auth } from '@/lib/server/auth/auth';
import { accounts, users } from '@/lib/server/db/schema';
import { creditKeys } from '@/lib/server/credits/keys';
import { grantWelcomeCredits } from '@/lib/server/usecases/grant-welcome-credits';

const t = setupTestDatabase();
const mailbox = setupMailbox();
let auth: Auth;
beforeAll(async () => {
  auth = createAuth(t.db, { secret: 'test-secret-of-at-least-32-characters!', baseURL: 'http://localhost:3000' });
});

const password = 'correct horse battery staple';
const welcome = creditsConfig.signupBonus.credits + creditsConfig.freeTier.credits;
const userByEmail = async (email: string) => (await t.db.select().from(users).where(eq(users.email, email)))[0];
const signUpOverHttp = (body: Record<string, string>) =>
  auth.handler(
    new Request('http://localhost:3000/api/auth/sign-up/email', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );

describe('sign-up through Better Auth: credits wait for a verified address', () => {
  it('a sign-up creates an unverified user with no credits and mails a link; following it verifies and grants the welcome credits, exactly once', async () => {
    const response = await signUpOverHttp({ name: 'Ann', email: 'ann@example.test', password });
    expect(response.status).toBe(200);
    expect(sessionCookie(response)).toBeNull();
    const row = await userByEmail('ann@example.test');
    expect(row).toMatchObject({ name: 'Ann', emailVerified: false });
    // The password lives hashed on the credential account, never in clear.
    const [account] = await t.db.select().from(accounts).where(eq(accounts.userId, row!.id));
    expect(account).toMatchObject({ providerId: 'credential' });
    expect(account!.password).not.toContain(password);
    expect(await batchesOf(t.db, row!.id)).toEqual([]);
    expect(await balanceOf(t.db, row!.id)).toBe(0);

    const mail = await mailTo(mailbox.current, 'verify-email', 'ann@example.test');
    expect(mail.subject).toBe('Confirm your email address');
    const link = mail.links[0]!;
    expect(link).toMatch(/^http:\/\/localhost:3000\/api\/auth\/verify-email\?token=/);
    expect(mail.html).toContain('Welcome, Ann');

    const verified = await follow(auth, link);
    expect(verified.status).toBe(302);
    expect(sessionCookie(verified)).not.toBeNull();
    expect((await userByEmail('ann@example.test'))!.emailVerified).toBe(true);
    const batches = await batchesOf(t.db, row!.id);
    expect(batches.map((b) => [b.source, b.amount, b.idempotencyKey])).toEqual([
      ['signup', creditsConfig.signupBonus.credits, creditKeys.signup(row!.id)],
      ['free', creditsConfig.freeTier.credits, creditKeys.free(row!.id, new Date())],
    ]);
    expect(await balanceOf(t.db, row!.id)).toBe(welcome);

    // The link followed again, a second verification, the usecase run again: nothing more.
    await follow(auth, link);
    await auth.api.verifyEmail({ query: { token: new URL(link).searchParams.get('token')! } });
    await grantWelcomeCredits(t.db, { userId: row!.id });
    expect((await ledgerOf(t.db, row!.id)).map((e) => [e.kind, e.delta])).toEqual([
      ['grant', creditsConfig.signupBonus.credits],
      ['grant', creditsConfig.freeTier.credits],
    ]);
    expect(await balanceOf(t.db, row!.id)).toBe(welcome);
    await expectInvariants(t.db, row!.id);
  });

  it('an unverified user cannot sign in; the right password mails a fresh link, a wrong one says only "invalid"', async () => {
    const { user } = await auth.api.signUpEmail({ body: { name: 'Dee', email: 'dee@example.test', password } });
    await expect(auth.api.signInEmail({ body: { email: 'dee@example.test', password: 'wrong password' } })).rejects.toMatchObject({
      body: { code: 'INVALID_EMAIL_OR_PASSWORD' },
    });
    const before = mailbox.current.messages.filter((m) => m.to.includes('dee@example.test')).length;
    await expect(auth.api.signInEmail({ body: { email: 'dee@example.test', password } })).rejects.toMatchObject({
      body: { code: 'EMAIL_NOT_VERIFIED' },
    });
    await mailbox.current.waitFor((m) => m.to.includes('dee@example.test') && mailbox.current.messages.indexOf(m) >= before);
    expect(mailbox.current.messages.filter((m) => m.kind === 'verify-email' && m.to.includes('dee@example.test'))).toHaveLength(2);
    expect(await balanceOf(t.db, user.id)).toBe(0);
  });

  it('signs in with the password once verified and reads the session back from its cookie; signing in grants nothing', async () => {
    const { userId } = await signUpAndVerify(auth, mailbox.current, { name: 'Cleo', email: 'cleo@example.test', password });
    await expect(auth.api.signInEmail({ body: { email: 'cleo@example.test', password: 'wrong password' } })).rejects.toMatchObject({
      body: { code: 'INVALID_EMAIL_OR_PASSWORD' },
    });
    const response = await auth.api.signInEmail({ body: { email: 'cleo@example.test', password }, asResponse: true });
    const session = await auth.api.getSession({ headers: new Headers({ cookie: sessionCookie(response)! }) });
    expect(session?.user.id).toBe(userId);
    expect(await balanceOf(t.db, userId)).toBe(welcome);
    await expectInvariants(t.db, userId);
  });

  it('a forged or expired link verifies nothing and grants nothing', async () => {
    const { user } = await auth.api.signUpEmail({ body: { name: 'Eve', email: 'eve@example.test', password } });
    const response = await follow(auth, 'http://localhost:3000/api/auth/verify-email?token=not-a-token');
    expect(response.status).toBe(401);
    expect((await userByEmail('eve@example.test'))!.emailVerified).toBe(false);
    expect(await balanceOf(t.db, user.id)).toBe(0);
  });
});

describe('no account enumeration at sign-up', () => {
  it('the endpoint answers a taken address exactly as a new one, creates nothing, and mails the owner instead', async () => {
    const { userId } = await signUpAndVerify(auth, mailbox.current, { name: 'Bob', email: 'bob@example.test', password });
    const taken = await signUpOverHttp({ name: 'Mallory', email: 'bob@example.test', password: 'another password' });
    const fresh = await signUpOverHttp({ name: 'Mallory', email: 'mallory@example.test', password: 'another password' });
    expect(taken.status).toBe(fresh.status);
    expect(sessionCookie(taken)).toBeNull();
    const shape = (body: { token: unknown; user: Record<string, unknown> }) => ({
      token: body.token,
      // The id is made up for a taken address: it must look like a real one (same kind, same length).
      user: Object.fromEntries(Object.entries(body.user).map(([key, value]) => [key, key === 'id' ? String(value).length : value])),
    });
    const [takenBody, freshBody] = [await taken.json(), await fresh.json()];
    expect(shape(takenBody)).toEqual({
      ...shape(freshBody),
      user: { ...shape(freshBody).user, email: 'bob@example.test', createdAt: expect.any(String), updatedAt: expect.any(String) },
    });
    expect(Object.keys(takenBody.user).sort()).toEqual(Object.keys(freshBody.user).sort());

    const notice = await mailTo(mailbox.current, 'account-exists', 'bob@example.test');
    expect(notice.subject).toBe('Someone tried to sign up with your address');
    expect(notice.links).toEqual(expect.arrayContaining(['http://localhost:3000/sign-in', 'http://localhost:3000/forgot-password']));
    expect(await t.db.select().from(users).where(eq(users.email, 'bob@example.test'))).toHaveLength(1);
    expect((await userByEmail('bob@example.test'))!.name).toBe('Bob');
    expect(await balanceOf(t.db, userId)).toBe(welcome);
    await expectInvariants(t.db, userId);
  });
});
