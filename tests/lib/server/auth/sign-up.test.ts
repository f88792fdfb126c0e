import { beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { setupTestDatabase } from '@tests/helpers/db';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf, batchesOf, ledgerOf } from '@tests/helpers/queries';
import { creditsConfig } from '@/config/credits';
import { createAuth, type Auth } from '@/lib/server/auth/auth';
import { accounts, users } from '@/lib/server/db/schema';
import { creditKeys } from '@/lib/server/credits/keys';
import { onUserCreated } from '@/lib/server/usecases/on-user-created';

const t = setupTestDatabase();
let auth: Auth;
beforeAll(async () => {
  auth = createAuth(t.db, { secret: 'test-secret-of-at-least-32-characters!', baseURL: 'http://localhost:3000' });
});

const password = 'correct horse battery staple';
const welcome = creditsConfig.signupBonus.credits + creditsConfig.freeTier.credits;

describe('sign-up through Better Auth', () => {
  it('creates the user with the sign-up bonus and this month’s free credits, exactly once', async () => {
    const { user } = await auth.api.signUpEmail({ body: { name: 'Ann', email: 'ann@example.test', password } });
    const [row] = await t.db.select().from(users).where(eq(users.id, user.id));
    expect(row).toMatchObject({ email: 'ann@example.test', name: 'Ann' });
    // The password lives hashed on the credential account, never in clear.
    const [account] = await t.db.select().from(accounts).where(eq(accounts.userId, user.id));
    expect(account).toMatchObject({ providerId: 'credential' });
    expect(account!.password).not.toContain(password);

    const batches = await batchesOf(t.db, user.id);
    expect(batches.map((b) => [b.source, b.amount, b.idempotencyKey])).toEqual([
      ['signup', creditsConfig.signupBonus.credits, creditKeys.signup(user.id)],
      ['free', creditsConfig.freeTier.credits, creditKeys.free(user.id, user.createdAt)],
    ]);
    expect((await ledgerOf(t.db, user.id)).map((e) => [e.kind, e.delta])).toEqual([
      ['grant', creditsConfig.signupBonus.credits],
      ['grant', creditsConfig.freeTier.credits],
    ]);
    expect(await balanceOf(t.db, user.id)).toBe(welcome);

    // The hook may run again (a retried request): the keys make it grant nothing more.
    await onUserCreated(t.db, { userId: user.id });
    expect(await ledgerOf(t.db, user.id)).toHaveLength(2);
    expect(await balanceOf(t.db, user.id)).toBe(welcome);
    await expectInvariants(t.db, user.id);
  });

  it('refuses a second sign-up with the same email and grants nothing', async () => {
    const { user } = await auth.api.signUpEmail({ body: { name: 'Bob', email: 'bob@example.test', password } });
    await expect(auth.api.signUpEmail({ body: { name: 'Bob again', email: 'bob@example.test', password } })).rejects.toMatchObject({
      body: { code: 'USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL' },
    });
    expect(await t.db.select().from(users).where(eq(users.email, 'bob@example.test'))).toHaveLength(1);
    expect(await balanceOf(t.db, user.id)).toBe(welcome);
    await expectInvariants(t.db, user.id);
  });

  it('signs in with the password and reads the session back from its cookie', async () => {
    const { user } = await auth.api.signUpEmail({ body: { name: 'Cleo', email: 'cleo@example.test', password } });
    await expect(auth.api.signInEmail({ body: { email: 'cleo@example.test', password: 'wrong password' } })).rejects.toMatchObject({
      body: { code: 'INVALID_EMAIL_OR_PASSWORD' },
    });
    const response = await auth.api.signInEmail({ body: { email: 'cleo@example.test', password }, asResponse: true });
    const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
    const session = await auth.api.getSession({ headers: new Headers({ cookie }) });
    expect(session?.user.id).toBe(user.id);
    // Signing in again grants nothing: only creating a user does.
    expect(await balanceOf(t.db, user.id)).toBe(welcome);
  });
});
