import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { createAuth } from '@/lib/server/auth/auth';
import { users } from '@/lib/server/db/schema';
import { setupTestDatabase } from '@tests/helpers/db';
import { expectInvariants } from '@tests/helpers/invariants';
import { follow, mailTo, signUpAndVerify, setupMailbox } from '@tests/helpers/accounts';

const t = setupTestDatabase();
const mailbox = setupMailbox();
const password = 'correct horse battery staple';
const options = { secret: 'test-secret-of-at-least-32-characters!', baseURL: 'http://localhost:3000' };
const roleOf = async (email: string) => (await t.db.select({ role: users.role }).from(users).where(eq(users.email, email)))[0]?.role;

describe('ADMIN_EMAILS', () => {
  it('a listed e-mail (any case) is not an admin while unverified (anyone can type it into the form), and is one once verified; anyone else is a user', async () => {
    const auth = createAuth(t.db, { ...options, adminEmails: ['ops@example.test'] });
    await auth.api.signUpEmail({ body: { name: 'Ops', email: 'Ops@Example.test', password } });
    expect(await roleOf('ops@example.test')).toBe('user');
    // Nor can the unverified owner sign in to get it.
    await expect(auth.api.signInEmail({ body: { email: 'ops@example.test', password } })).rejects.toMatchObject({
      body: { code: 'EMAIL_NOT_VERIFIED' },
    });
    expect(await roleOf('ops@example.test')).toBe('user');

    await follow(auth, (await mailTo(mailbox.current, 'verify-email', 'ops@example.test')).links[0]!);
    expect(await roleOf('ops@example.test')).toBe('admin');
    await signUpAndVerify(auth, mailbox.current, { name: 'Ann', email: 'ann@example.test', password });
    expect(await roleOf('ann@example.test')).toBe('user');
    await expectInvariants(t.db);
  });

  it('an e-mail listed after its user verified it becomes an admin at the next sign-in, and signing in again changes nothing', async () => {
    await signUpAndVerify(createAuth(t.db, options), mailbox.current, { name: 'Cto', email: 'cto@example.test', password });
    expect(await roleOf('cto@example.test')).toBe('user');

    const listed = createAuth(t.db, { ...options, adminEmails: ['cto@example.test'] });
    await listed.api.signInEmail({ body: { email: 'cto@example.test', password } });
    expect(await roleOf('cto@example.test')).toBe('admin');
    const [before] = await t.db.select().from(users).where(eq(users.email, 'cto@example.test'));
    await listed.api.signInEmail({ body: { email: 'cto@example.test', password } });
    const [after] = await t.db.select().from(users).where(eq(users.email, 'cto@example.test'));
    expect(after!.updatedAt).toEqual(before!.updatedAt);
    await expectInvariants(t.db);
  });
});
