import { describe, expect, it } from 'vitest';
import { authRateLimitFor, authRateLimits as rules } from '@/config/rate-limits';
import { authRateLimits } from '@/lib/server/db/schema';
import { clientIpOptions, trustedIpHeader, tooManyAttempts } from '@/lib/server/auth/rate-limit';
import { countAuthAttempt, PRUNE_BATCH_SIZE } from '@/lib/server/usecases/count-auth-attempt';
import { at } from '@tests/helpers/factories';
import { setupTestDatabase } from '@tests/helpers/db';

const t = setupTestDatabase({ maxConnections: 30 });
const SIGN_IN = authRateLimitFor('/sign-in/email')!;
const start = at('2026-03-01T10:00:00Z');
const seconds = (date: Date, n: number) => new Date(date.getTime() + n * 1000);

describe('which endpoints the rate limit covers', () => {
  it.each([
    ['/sign-in/email', 'sign-in'],
    ['/sign-in/social', 'sign-in'],
    ['/sign-in/username', 'sign-in'],
    ['/sign-up/email', 'sign-up'],
    ['/request-password-reset', 'password-reset-request'],
    ['/forget-password', 'password-reset-request'],
    ['/email-otp/request-password-reset', 'password-reset-request'],
    ['/reset-password', 'password-reset'],
    ['/reset-password/:token', 'password-reset'],
    ['/send-verification-email', 'verification-email'],
    ['/email-otp/send-verification-otp', 'verification-email'],
    ['/verify-email', 'verify-email'],
    ['/change-password', 'password-check'],
    ['/change-email', 'password-check'],
    ['/verify-password', 'password-check'],
    ['/delete-user', 'password-check'],
  ])('%s is counted under "%s"', (path, rule) => {
    expect(authRateLimitFor(path)?.name).toBe(rule);
  });

  it.each(['/get-session', '/sign-out', '/list-sessions', '/sign-inx', '/update-user', '/delete-user/callback', '/ok'])(
    '%s is not limited',
    (path) => {
      expect(authRateLimitFor(path)).toBeUndefined();
    },
  );

  it('every rule that names an e-mail limit allows no more per e-mail than per address', () => {
    for (const rule of rules) if (rule.perEmail) expect(rule.perEmail.max).toBeLessThanOrEqual(rule.perIp.max);
  });
});

describe('the trusted client address', () => {
  it('is TRUSTED_IP_HEADER, else on Vercel the header Vercel sets, else none', () => {
    expect(trustedIpHeader({ TRUSTED_IP_HEADER: 'cf-connecting-ip', VERCEL_ENV: 'production' })).toBe('cf-connecting-ip');
    expect(trustedIpHeader({ TRUSTED_IP_HEADER: undefined, VERCEL_ENV: 'preview' })).toBe('x-vercel-forwarded-for');
    expect(trustedIpHeader({ TRUSTED_IP_HEADER: undefined, VERCEL_ENV: undefined })).toBeUndefined();
  });

  it('Better Auth reads only that header, and no header at all when there is none (never its X-Forwarded-For default)', () => {
    expect(clientIpOptions('x-real-ip')).toEqual({ ipAddressHeaders: ['x-real-ip'] });
    expect(clientIpOptions(undefined)).toEqual({ disableIpTracking: true });
  });

  it('a refusal says when to try again, in minutes, and carries Retry-After in seconds', () => {
    const error = tooManyAttempts(61);
    expect(error.statusCode).toBe(429);
    expect(error.body).toMatchObject({ code: 'TOO_MANY_ATTEMPTS', message: 'Too many attempts. Try again in 2 minutes.' });
    expect(error.headers).toEqual({ 'Retry-After': '61' });
    expect(tooManyAttempts(5).body?.message).toBe('Too many attempts. Try again in 1 minute.');
  });
});

describe('countAuthAttempt', () => {
  it('allows the configured attempts per e-mail in a window, refuses the next until the window ends, then counts afresh', async () => {
    const attempt = (now: Date) => countAuthAttempt(t.db, { path: '/sign-in/email', ip: null, email: 'ann@example.test', now });
    const max = SIGN_IN.perEmail!.max;
    const window = SIGN_IN.perEmail!.windowSeconds;
    for (let i = 0; i < max; i++) expect(await attempt(seconds(start, i))).toEqual({ ok: true, rule: 'sign-in' });
    // The window runs from the first attempt: 60 s later, window - 60 s remain.
    expect(await attempt(seconds(start, 60))).toEqual({
      ok: false,
      reason: 'too_many_attempts',
      rule: 'sign-in',
      retryAfterSeconds: window - 60,
    });
    expect(await attempt(seconds(start, window - 1))).toMatchObject({ ok: false, retryAfterSeconds: 1 });
    expect(await attempt(seconds(start, window))).toEqual({ ok: true, rule: 'sign-in' });
    const [row] = await t.db.select().from(authRateLimits);
    expect(row).toEqual({ key: 'sign-in:email:ann@example.test', count: 1, resetsAt: seconds(start, 2 * window) });
  });

  it('refuses when either the address or the e-mail is over its limit, with the longer wait', async () => {
    const now = at('2026-03-02T10:00:00Z');
    const ip = '192.0.2.1';
    for (let i = 0; i < SIGN_IN.perIp.max; i++) {
      expect((await countAuthAttempt(t.db, { path: '/sign-in/email', ip, email: `user${i}@example.test`, now: seconds(now, i) })).ok).toBe(
        true,
      );
    }
    const refused = await countAuthAttempt(t.db, { path: '/sign-in/email', ip, email: 'fresh@example.test', now: seconds(now, 100) });
    expect(refused).toEqual({
      ok: false,
      reason: 'too_many_attempts',
      rule: 'sign-in',
      retryAfterSeconds: SIGN_IN.perIp.windowSeconds - 100,
    });
  });

  it('an endpoint outside every rule, or an attempt with neither address nor e-mail, writes nothing', async () => {
    const before = await t.db.$count(authRateLimits);
    expect(await countAuthAttempt(t.db, { path: '/get-session', ip: '192.0.2.9', email: 'x@example.test', now: start })).toEqual({
      ok: true,
      rule: null,
    });
    expect(await countAuthAttempt(t.db, { path: '/sign-in/email', ip: null, email: null, now: start })).toEqual({
      ok: true,
      rule: 'sign-in',
    });
    expect(await t.db.$count(authRateLimits)).toBe(before);
  });

  it('concurrent attempts never both pass on a stale count: exactly the configured number get through', async () => {
    const now = at('2026-03-03T10:00:00Z');
    const results = await Promise.all(
      Array.from({ length: 25 }, () => countAuthAttempt(t.db, { path: '/sign-in/email', ip: null, email: 'race@example.test', now })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(SIGN_IN.perEmail!.max);
    const [row] = (await t.db.select().from(authRateLimits)).filter((r) => r.key === 'sign-in:email:race@example.test');
    expect(row!.count).toBe(25);
  });

  it('an attempt that opens a new window prunes rows whose window has ended, a batch at a time', async () => {
    await t.db.delete(authRateLimits);
    const old = at('2026-01-01T00:00:00Z');
    await t.db
      .insert(authRateLimits)
      .values(Array.from({ length: PRUNE_BATCH_SIZE + 5 }, (_, i) => ({ key: `sign-in:ip:old-${i}`, count: 3, resetsAt: old })));
    const live = { key: 'sign-in:ip:live', count: 2, resetsAt: at('2027-01-01T00:00:00Z') };
    await t.db.insert(authRateLimits).values(live);
    const stale = async () => (await t.db.select().from(authRateLimits)).filter((r) => r.key.startsWith('sign-in:ip:old-')).length;

    await countAuthAttempt(t.db, { path: '/sign-in/email', ip: '192.0.2.50', email: null, now: at('2026-06-01T00:00:00Z') });
    expect(await stale()).toBe(5);
    await countAuthAttempt(t.db, { path: '/sign-in/email', ip: '192.0.2.51', email: null, now: at('2026-06-01T00:00:00Z') });
    expect(await stale()).toBe(0);
    expect((await t.db.select().from(authRateLimits)).find((r) => r.key === live.key)).toEqual(live);
  });
});
