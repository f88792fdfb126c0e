import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { authRateLimitFor } from '@/config/rate-limits';
import { resetEnvCache } from '@/env';
import { createAuth } from '@/lib/server/auth/auth';
import { authRateLimits, sessions, users } from '@/lib/server/db/schema';
import { setupTestDatabase } from '@tests/helpers/db';
import { expectInvariants } from '@tests/helpers/invariants';

// The rate limit as an attacker meets it: through the app's forms (server actions calling auth.api.*)
// and through Better Auth's endpoints (the route handler with a Request), on the real auth and
// database. Only the request's headers and Next's redirect are stand-ins. The proxy's header is
// x-real-ip here; X-Forwarded-For is what a client writes.
let requestHeaders = new Headers();
vi.mock('next/headers', () => ({ headers: async () => requestHeaders }));
vi.mock('next/navigation', () => ({
  redirect: (url: string) => {
    throw new Error(`redirect ${url}`);
  },
}));

process.env.TRUSTED_IP_HEADER = 'x-real-ip';
process.env.BETTER_AUTH_URL = 'http://localhost:3000';
resetEnvCache();

const t = setupTestDatabase({ routes: true });
const { signIn, signUp } = await import('@/app/(auth)/actions');
const { GET, POST } = await import('@/app/api/auth/[...all]/route');
const { getAuth } = await import('@/lib/server/auth/auth');

const password = 'correct horse battery staple';
const SIGN_IN = authRateLimitFor('/sign-in/email')!;
const SIGN_UP = authRateLimitFor('/sign-up/email')!;
const initial = { error: null, name: '', email: '' };
const TOO_MANY = /^Too many attempts\. Try again in \d+ minutes?\.$/;

/** A client address of its own for each test, so tests never share a counter. */
let ipCounter = 0;
const uniqueIp = () => `198.51.${Math.floor(++ipCounter / 250)}.${(ipCounter % 250) + 1}`;
const newEmail = (name = 'user') => `${name}-${randomUUID()}@example.test`;

const form = (fields: Record<string, string>) => {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
};

/** The sign-in form submitted from `ip` (the proxy's header), with whatever X-Forwarded-For the client wrote. */
function submitSignIn(ip: string, fields: { email: string; password: string }, forwardedFor?: string) {
  requestHeaders = new Headers({ 'x-real-ip': ip, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) });
  return signIn(initial, form(fields));
}

function submitSignUp(ip: string, fields: { name: string; email: string; password: string }) {
  requestHeaders = new Headers({ 'x-real-ip': ip });
  return signUp(initial, form(fields));
}

/** POST /api/auth/<path> as a browser or script would send it. */
function post(path: string, body: unknown, headers: Record<string, string>) {
  return POST(
    new Request(`http://localhost:3000/api/auth${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:3000', ...headers },
      body: JSON.stringify(body),
    }),
  );
}

/** An account that can sign in: signed up, and its address verified (as its mailed link would). */
async function registered(email = newEmail()) {
  const { user } = await (await getAuth()).api.signUpEmail({ body: { name: 'Ann', email, password } });
  await t.db.update(users).set({ emailVerified: true }).where(eq(users.id, user.id));
  return user;
}

const sessionsOf = async (userId: string) => t.db.select().from(sessions).where(eq(sessions.userId, userId));

function expectRetryAfter(response: Response, windowSeconds: number) {
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  return retryAfter;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('sign-in through the form', () => {
  it('20 wrong passwords: refused in words after the configured count, and the correct password is refused too while limited', async () => {
    const ip = uniqueIp();
    const user = await registered();
    const sessionsBefore = (await sessionsOf(user.id)).length;
    const errors: (string | null)[] = [];
    for (let i = 0; i < 20; i++) errors.push((await submitSignIn(ip, { email: user.email, password: `wrong ${i}` })).error);

    const max = SIGN_IN.perEmail!.max;
    expect(errors.slice(0, max)).toEqual(Array(max).fill('Wrong email or password.'));
    for (const error of errors.slice(max)) expect(error).toMatch(TOO_MANY);
    expect(errors[max]).toBe(`Too many attempts. Try again in ${SIGN_IN.perEmail!.windowSeconds / 60} minutes.`);

    // The right password while limited: refused, with the e-mail typed back and no session opened.
    expect(await submitSignIn(ip, { email: user.email, password })).toEqual({
      error: expect.stringMatching(TOO_MANY),
      name: '',
      email: user.email,
    });
    expect(await sessionsOf(user.id)).toHaveLength(sessionsBefore);
  });
});

describe('sign-in through the endpoint', () => {
  it('20 wrong passwords: 429 with Retry-After after the configured count; the correct password is refused while limited and works once the window ends', async () => {
    const ip = uniqueIp();
    const user = await registered();
    const sessionsBefore = (await sessionsOf(user.id)).length;
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 20; i++) {
      const response = await post('/sign-in/email', { email: user.email, password: `wrong ${i}` }, { 'x-real-ip': ip });
      statuses.push(response.status);
      if (response.status === 429) limited ??= response;
    }
    const max = SIGN_IN.perEmail!.max;
    expect(statuses).toEqual([...Array(max).fill(401), ...Array(20 - max).fill(429)]);
    expect(limited!.headers.get('content-type')).toContain('application/json');
    const body = await limited!.json();
    expect(body).toEqual({ code: 'TOO_MANY_ATTEMPTS', message: expect.stringMatching(TOO_MANY), error: body.message });
    expect(expectRetryAfter(limited!, SIGN_IN.perEmail!.windowSeconds)).toBeGreaterThan(SIGN_IN.perEmail!.windowSeconds - 60);

    const refused = await post('/sign-in/email', { email: user.email, password }, { 'x-real-ip': ip });
    expect(refused.status).toBe(429);
    expectRetryAfter(refused, SIGN_IN.perEmail!.windowSeconds);
    expect(refused.headers.get('set-cookie')).toBeNull();
    expect(await sessionsOf(user.id)).toHaveLength(sessionsBefore);

    // Once the window has ended, the same password signs in, and the session records the proxy's address.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + SIGN_IN.perEmail!.windowSeconds * 1000 + 1000);
    const signedIn = await post('/sign-in/email', { email: user.email, password }, { 'x-real-ip': ip, 'x-forwarded-for': '192.0.2.66' });
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers.get('set-cookie')).toContain('session_token');
    const opened = await sessionsOf(user.id);
    expect(opened).toHaveLength(sessionsBefore + 1);
    expect(opened.map((s) => s.ipAddress)).toContain(ip);
  });

  it('the form and the endpoint count the same attempts', async () => {
    const ip = uniqueIp();
    const user = await registered();
    const max = SIGN_IN.perEmail!.max;
    for (let i = 0; i < max; i++) {
      if (i % 2 === 0) expect((await submitSignIn(ip, { email: user.email, password: 'wrong' })).error).toBe('Wrong email or password.');
      else expect((await post('/sign-in/email', { email: user.email, password: 'wrong' }, { 'x-real-ip': ip })).status).toBe(401);
    }
    expect((await submitSignIn(ip, { email: user.email, password })).error).toMatch(TOO_MANY);
    expect((await post('/sign-in/email', { email: user.email, password }, { 'x-real-ip': ip })).status).toBe(429);
  });

  it('signing in successfully forgets the e-mail’s count (not the address’s): the owner never locks themselves out', async () => {
    const ip = uniqueIp();
    const user = await registered();
    const max = SIGN_IN.perEmail!.max;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < max - 1; i++)
        expect((await post('/sign-in/email', { email: user.email, password: 'wrong' }, { 'x-real-ip': ip })).status).toBe(401);
      expect((await post('/sign-in/email', { email: user.email, password }, { 'x-real-ip': ip })).status).toBe(200);
    }
    const [ipRow] = await t.db
      .select()
      .from(authRateLimits)
      .where(eq(authRateLimits.key, `sign-in:ip:${ip}`));
    expect(ipRow!.count).toBe(2 * max);
    expect(
      await t.db
        .select()
        .from(authRateLimits)
        .where(eq(authRateLimits.key, `sign-in:email:${user.email}`)),
    ).toEqual([]);
  });

  it('one address trying many e-mails is refused after its own count, whatever e-mail comes next; another address is not', async () => {
    const ip = uniqueIp();
    const max = SIGN_IN.perIp.max;
    for (let i = 0; i < max; i++) {
      expect((await post('/sign-in/email', { email: newEmail('spray'), password: 'guess' }, { 'x-real-ip': ip })).status).toBe(401);
    }
    const refused = await post('/sign-in/email', { email: newEmail('spray'), password: 'guess' }, { 'x-real-ip': ip });
    expect(refused.status).toBe(429);
    expectRetryAfter(refused, SIGN_IN.perIp.windowSeconds);
    expect((await post('/sign-in/email', { email: newEmail('other'), password: 'guess' }, { 'x-real-ip': uniqueIp() })).status).toBe(401);
  });

  it('a forged X-Forwarded-For, new on every request, does not reset the count', async () => {
    const ip = uniqueIp();
    const max = SIGN_IN.perIp.max;
    const forged = (i: number) => `10.${i}.${i}.${i}`;
    for (let i = 0; i < max; i++) {
      const headers = { 'x-real-ip': ip, 'x-forwarded-for': forged(i) };
      expect((await post('/sign-in/email', { email: newEmail('forged'), password: 'guess' }, headers)).status).toBe(401);
    }
    expect(
      (await post('/sign-in/email', { email: newEmail('forged'), password: 'guess' }, { 'x-real-ip': ip, 'x-forwarded-for': forged(99) }))
        .status,
    ).toBe(429);
    // Through the form as well: the client's header never picks the counter.
    expect((await submitSignIn(ip, { email: newEmail('forged'), password: 'guess' }, forged(100))).error).toMatch(TOO_MANY);
    const keys = (await t.db.select({ key: authRateLimits.key }).from(authRateLimits)).map((r) => r.key);
    expect(keys.filter((key) => key.startsWith('sign-in:ip:10.'))).toEqual([]);
  });
});

describe('sign-up', () => {
  it('one address creating accounts is refused after the configured count: no user, no credits for the refused one', async () => {
    const ip = uniqueIp();
    const max = SIGN_UP.perIp.max;
    for (let i = 0; i < max; i++) {
      expect((await post('/sign-up/email', { name: 'Bot', email: newEmail('bot'), password }, { 'x-real-ip': ip })).status).toBe(200);
    }
    const email = newEmail('bot-refused');
    const refused = await post('/sign-up/email', { name: 'Bot', email, password }, { 'x-real-ip': ip });
    expect(refused.status).toBe(429);
    expectRetryAfter(refused, SIGN_UP.perIp.windowSeconds);
    expect(await t.db.select().from(users).where(eq(users.email, email))).toEqual([]);
    // The form from that address is refused as well, and creates nothing.
    const formEmail = newEmail('bot-form');
    expect((await submitSignUp(ip, { name: 'Bot', email: formEmail, password })).error).toMatch(TOO_MANY);
    expect(await t.db.select().from(users).where(eq(users.email, formEmail))).toEqual([]);
    await expectInvariants(t.db);
  });

  it('one e-mail signed up again and again through the form is refused after its count, from any address', async () => {
    const email = newEmail('again');
    const outcomes: (string | null)[] = [];
    for (let i = 0; i <= SIGN_UP.perEmail!.max; i++) {
      outcomes.push(
        await submitSignUp(uniqueIp(), { name: 'Ann', email, password }).then(
          (state) => state.error,
          (error: Error) => error.message,
        ),
      );
    }
    // Every sign-up under the limit answers alike ("check your inbox"), whether the address is new or taken.
    expect(outcomes.slice(0, -1)).toEqual(Array(SIGN_UP.perEmail!.max).fill(null));
    expect(outcomes.at(-1)).toMatch(TOO_MANY);
    expect(await t.db.select().from(users).where(eq(users.email, email))).toHaveLength(1);
    await expectInvariants(t.db);
  });
});

describe('password reset and e-mail verification endpoints', () => {
  it.each([
    ['/request-password-reset', () => ({ email: 'reset@example.test', redirectTo: '/reset' })],
    ['/send-verification-email', () => ({ email: 'verify@example.test' })],
    ['/reset-password', () => ({ newPassword: 'a new password 123', token: randomUUID() })],
  ])('POST %s is refused with 429 after its rule’s count', async (path, body) => {
    const rule = authRateLimitFor(path)!;
    const ip = uniqueIp();
    const max = rule.perEmail?.max ?? rule.perIp.max;
    for (let i = 0; i < max; i++) expect((await post(path, body(), { 'x-real-ip': ip })).status).not.toBe(429);
    const refused = await post(path, body(), { 'x-real-ip': ip });
    expect(refused.status).toBe(429);
    expectRetryAfter(refused, rule.perEmail?.windowSeconds ?? rule.perIp.windowSeconds);
  });

  it('GET /verify-email is refused with 429 after its rule’s count', async () => {
    const rule = authRateLimitFor('/verify-email')!;
    const ip = uniqueIp();
    const verify = () =>
      GET(new Request(`http://localhost:3000/api/auth/verify-email?token=${randomUUID()}`, { headers: { 'x-real-ip': ip } }));
    for (let i = 0; i < rule.perIp.max; i++) expect((await verify()).status).not.toBe(429);
    expect((await verify()).status).toBe(429);
  });
});

describe('without a trusted IP header', () => {
  it('no client header picks a counter: per-address limits are off, per-e-mail limits still apply', async () => {
    // createAuth with no trustedIpHeader is what getAuth builds when TRUSTED_IP_HEADER is unset off Vercel.
    const auth = createAuth(t.db, { secret: 'test-secret-of-at-least-32-characters!', baseURL: 'http://localhost:3000' });
    const user = await registered();
    const attempt = (email: string, forwardedFor: string) =>
      auth.handler(
        new Request('http://localhost:3000/api/auth/sign-in/email', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            origin: 'http://localhost:3000',
            'x-forwarded-for': forwardedFor,
            'x-real-ip': forwardedFor,
            'x-vercel-forwarded-for': forwardedFor,
          },
          body: JSON.stringify({ email, password: 'wrong' }),
        }),
      );
    const statuses: number[] = [];
    for (let i = 0; i <= SIGN_IN.perEmail!.max; i++) statuses.push((await attempt(user.email, '192.0.2.10')).status);
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.slice(0, -1).every((s) => s === 401)).toBe(true);
    const [ipRow] = await t.db
      .select()
      .from(authRateLimits)
      .where(sql`${authRateLimits.key} like ${'%:ip:192.0.2.10'}`);
    expect(ipRow).toBeUndefined();
  });
});
