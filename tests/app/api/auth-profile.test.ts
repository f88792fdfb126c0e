import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { count, eq } from 'drizzle-orm';
import { resetEnvCache } from '@/env';
import * as authRoute from '@/app/api/auth/[...all]/route';
import { createAuth } from '@/lib/server/auth/auth';
import { creditBatches, users } from '@/lib/server/db/schema';
import { USER_NAME_MAX_LENGTH } from '@/lib/user-profile';
import { setupTestDatabase } from '@tests/helpers/db';
import { expectInvariants } from '@tests/helpers/invariants';
import { sessionCookie } from '@tests/helpers/accounts';

// Better Auth's own HTTP endpoints, through the app's /api/auth route: whatever a client sends, a
// user's name and image stay within src/lib/user-profile.ts's limits (the database hooks of auth.ts).
const t = setupTestDatabase({ routes: true });
const origin = 'http://localhost:3000';
const password = 'correct horse battery staple';

beforeAll(() => {
  vi.stubEnv('BETTER_AUTH_SECRET', 'test-secret-of-at-least-32-characters!');
  vi.stubEnv('BETTER_AUTH_URL', origin);
  resetEnvCache();
});
afterAll(() => {
  vi.unstubAllEnvs();
  resetEnvCache();
});

function post(path: string, body: unknown, cookie?: string) {
  return authRoute.POST(
    new Request(`${origin}/api/auth${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin, ...(cookie && { cookie }) },
      body: JSON.stringify(body),
    }),
  );
}

/** Signs up over HTTP, verifies the address (as its mailed link would) and signs in: the user and their session cookie. */
async function signUp(email: string, name = 'Ann') {
  const response = await post('/sign-up/email', { name, email, password });
  expect(response.status).toBe(200);
  const { user } = (await response.json()) as { user: { id: string } };
  await t.db.update(users).set({ emailVerified: true }).where(eq(users.id, user.id));
  const signedIn = await post('/sign-in/email', { email, password });
  expect(signedIn.status).toBe(200);
  return { id: user.id, cookie: sessionCookie(signedIn)! };
}

const userRow = async (id: string) => (await t.db.select().from(users).where(eq(users.id, id)))[0]!;
const usersNamed = async (email: string) => (await t.db.select({ n: count() }).from(users).where(eq(users.email, email)))[0]!.n;

describe('update-user over HTTP', () => {
  it('refuses a 100 KB name with a 400 saying why, and changes nothing', async () => {
    const ann = await signUp('ann@example.test');
    const before = await userRow(ann.id);
    const response = await post('/update-user', { name: 'x'.repeat(100_000) }, ann.cookie);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ message: `Use at most ${USER_NAME_MAX_LENGTH} characters for the name.` });
    expect(await userRow(ann.id)).toEqual(before);
  });

  it.each([['javascript:alert(document.cookie)'], ['data:text/html,<script>alert(1)</script>'], ['//evil.example/a.png'], [42]])(
    'refuses the image %j with a 400, and changes nothing',
    async (image) => {
      const bob = await signUp(`bob-${String(image).length}@example.test`);
      const before = await userRow(bob.id);
      const response = await post('/update-user', { name: 'Bob', image }, bob.cookie);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ message: 'The image must be an http(s) URL.' });
      expect(await userRow(bob.id)).toEqual(before);
    },
  );

  it('refuses a name with a line break', async () => {
    const cleo = await signUp('cleo@example.test', 'Cleo');
    const response = await post('/update-user', { name: 'Cleo\nAdmin' }, cleo.cookie);
    expect(response.status).toBe(400);
    expect((await userRow(cleo.id)).name).toBe('Cleo');
  });

  it('accepts a valid name (trimmed) and an https image, and clearing the image again', async () => {
    const dan = await signUp('dan@example.test');
    const response = await post(
      '/update-user',
      { name: `  ${'D'.repeat(USER_NAME_MAX_LENGTH)}  `, image: 'https://cdn.example.com/dan.png' },
      dan.cookie,
    );
    expect(response.status).toBe(200);
    expect(await userRow(dan.id)).toMatchObject({ name: 'D'.repeat(USER_NAME_MAX_LENGTH), image: 'https://cdn.example.com/dan.png' });

    expect((await post('/update-user', { image: null }, dan.cookie)).status).toBe(200);
    expect(await userRow(dan.id)).toMatchObject({ name: 'D'.repeat(USER_NAME_MAX_LENGTH), image: null });
  });
});

describe('sign-up over HTTP', () => {
  it('refuses a name over the limit with a 400: no user row, no credits', async () => {
    const batchesBefore = (await t.db.select({ n: count() }).from(creditBatches))[0]!.n;
    const response = await post('/sign-up/email', { name: 'x'.repeat(USER_NAME_MAX_LENGTH + 1), email: 'eve@example.test', password });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ message: `Use at most ${USER_NAME_MAX_LENGTH} characters for the name.` });
    expect(await usersNamed('eve@example.test')).toBe(0);
    expect((await t.db.select({ n: count() }).from(creditBatches))[0]!.n).toBe(batchesBefore);
    await expectInvariants(t.db);
  });

  it('refuses a javascript: image at sign-up: no user row', async () => {
    const response = await post('/sign-up/email', { name: 'Fay', email: 'fay@example.test', password, image: 'javascript:alert(1)' });
    expect(response.status).toBe(400);
    expect(await usersNamed('fay@example.test')).toBe(0);
  });
});

describe('the admin plugin', () => {
  it("an admin's update of a user is held to the same limits", async () => {
    const auth = createAuth(t.db, { secret: 'test-secret-of-at-least-32-characters!', baseURL: origin, adminEmails: ['ops@example.test'] });
    const { user: ops } = await auth.api.signUpEmail({ body: { name: 'Ops', email: 'ops@example.test', password } });
    // ADMIN_EMAILS makes an admin of a verified address only, at its next sign-in.
    await t.db.update(users).set({ emailVerified: true }).where(eq(users.id, ops.id));
    const signedIn = await auth.api.signInEmail({ body: { email: 'ops@example.test', password }, asResponse: true });
    const headers = new Headers({ cookie: sessionCookie(signedIn)! });
    const gus = await signUp('gus@example.test', 'Gus');

    await expect(auth.api.adminUpdateUser({ body: { userId: gus.id, data: { name: 'x'.repeat(5_000) } }, headers })).rejects.toMatchObject({
      statusCode: 400,
    });
    await expect(
      auth.api.adminUpdateUser({ body: { userId: gus.id, data: { image: 'javascript:alert(1)' } }, headers }),
    ).rejects.toMatchObject({
      statusCode: 400,
    });
    expect(await userRow(gus.id)).toMatchObject({ name: 'Gus', image: null });
  });
});
