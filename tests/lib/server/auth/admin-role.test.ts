import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { createAuth } from '@/lib/server/auth/auth';
import { users } from '@/lib/server/db/schema';
import { setupTestDatabase } from '@tests/helpers/db';
import { expectInvariants } from '@tests/helpers/invariants';

const t = setupTestDatabase();
const password = 'correct horse battery staple';
const options = { secret: 'test-secret-of-at-least-32-characters!', baseURL: 'http://localhost:3000' };
const roleOf = async (email: string) => (await t.db.select({ role: users.role }).from(users).where(eq(users.email, email)))[0]?.role;

describe('ADMIN_EMAILS', () => {
  it('a user signing up with a listed e-mail (any case) is an admin; anyone else is a user', async () => {
    const auth = createAuth(t.db, { ...options, adminEmails: ['ops@example.test'] });
    await auth.api.signUpEmail({ body: { name: 'Ops', email: 'Ops@Example.test', password } });
    await auth.api.signUpEmail({ body: { name: 'Ann', email: 'ann@example.test', password } });

    expect(await roleOf('ops@example.test')).toBe('admin');
    expect(await roleOf('ann@example.test')).toBe('user');
    await expectInvariants(t.db);
  });

  it('an e-mail listed after its user signed up becomes an admin at the next sign-in, and signing in again changes nothing', async () => {
    await createAuth(t.db, options).api.signUpEmail({ body: { name: 'Cto', email: 'cto@example.test', password } });
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
