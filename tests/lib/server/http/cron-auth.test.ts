import { timingSafeEqual } from 'node:crypto';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { checkCronAuth, type CronCredentials } from '@/lib/server/http/cron-auth';

// The comparison is observed, not replaced: the spy calls Node's own timingSafeEqual.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});
const constantTimeEqual = vi.mocked(timingSafeEqual);

const secret = 'bearer-secret-0123456789';
const username = 'cron';
const password = 'p:a:s:s-0123456789';
const both: CronCredentials = { secret, username, password };
const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');

const headers = (authorization?: string, userAgent?: string) => {
  const h = new Headers();
  if (authorization !== undefined) h.set('authorization', authorization);
  if (userAgent !== undefined) h.set('user-agent', userAgent);
  return h;
};

describe('checkCronAuth accepts', () => {
  test.each([
    ['the Bearer secret', `Bearer ${secret}`, undefined, 'bearer'],
    ['the Bearer secret with a lowercase scheme (schemes are case-insensitive)', `bearer ${secret}`, undefined, 'bearer'],
    ['the Bearer secret from Vercel Cron, recorded as vercel-cron', `Bearer ${secret}`, 'vercel-cron/1.0', 'vercel-cron'],
    [
      'Basic credentials whose password contains colons (split at the first only)',
      `Basic ${b64(`${username}:${password}`)}`,
      undefined,
      'basic',
    ],
    [
      'Basic credentials sent with a vercel-cron user agent, still recorded as basic',
      `Basic ${b64(`${username}:${password}`)}`,
      'vercel-cron/1.0',
      'basic',
    ],
  ])('%s', (_name, authorization, userAgent, trigger) => {
    expect(checkCronAuth(headers(authorization, userAgent), both)).toEqual({ ok: true, trigger });
  });
});

describe('checkCronAuth refuses', () => {
  test.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['a scheme without credentials', 'Bearer'],
    ['a wrong Bearer secret', 'Bearer wrong-secret-0123456789'],
    ['a lowercase scheme with a wrong secret', 'bearer wrong-secret-0123456789'],
    ['a prefix of the secret', `Bearer ${secret.slice(0, -1)}`],
    ['the secret followed by junk', `Bearer ${secret} junk`],
    ['the secret followed by a tab and junk', `Bearer ${secret}\tjunk`],
    ['two spaces after the scheme', `Bearer  ${secret}`],
    ['the secret without a scheme', secret],
    ['the secret under an unknown scheme', `Token ${secret}`],
    ['the Bearer secret sent as Basic', `Basic ${b64(secret)}`],
    ['the Basic credentials sent as Bearer', `Bearer ${b64(`${username}:${password}`)}`],
    ['malformed base64', 'Basic !!!not-base64!!!'],
    ['base64 without padding', `Basic ${b64(`${username}:${password}x`).replace(/=+$/, '')}`],
    ['Basic without a colon', `Basic ${b64(`${username}${password}`)}`],
    ['an empty user name', `Basic ${b64(`:${password}`)}`],
    ['an empty password', `Basic ${b64(`${username}:`)}`],
    ['empty Basic credentials', `Basic ${b64(':')}`],
    ['a wrong password', `Basic ${b64(`${username}:wrong-password-0123`)}`],
    ['a wrong user name', `Basic ${b64(`root:${password}`)}`],
    ['the password split at the last colon instead of the first', `Basic ${b64(`${username}:p:a:s:${password}`)}`],
    ['a NUL byte inside decoded Basic credentials', `Basic ${b64(`${username}\u0000:${password}`)}`],
    ['a header over 4 KB', `Bearer ${secret}${'a'.repeat(5_000)}`],
    ['a header of 100 KB', `Basic ${'A'.repeat(100_000)}`],
  ])('%s', (_name, authorization) => {
    expect(checkCronAuth(headers(authorization), both)).toEqual({ ok: false, reason: 'unauthorized', basicConfigured: true });
  });

  test('a NUL byte in the header itself (the platform refuses to build such headers; the check refuses them too)', () => {
    const fake = { get: (name: string) => (name === 'authorization' ? `Bearer ${secret}\u0000` : null) } as unknown as Headers;
    expect(checkCronAuth(fake, both).ok).toBe(false);
  });

  test.each([
    ['Basic, when only Bearer is configured', { secret }, `Basic ${b64(`${username}:${password}`)}`, false],
    ['Bearer, when only Basic is configured', { username, password }, `Bearer ${secret}`, true],
    ['an empty Bearer token, when the secret is empty', { secret: '', username, password }, 'Bearer ', true],
  ])('%s', (_name, credentials, authorization, basicConfigured) => {
    expect(checkCronAuth(headers(authorization), credentials)).toEqual({ ok: false, reason: 'unauthorized', basicConfigured });
  });
});

describe('checkCronAuth fails closed', () => {
  test.each([
    ['nothing configured', {}],
    ['empty values', { secret: '', username: '', password: '' }],
    ['a user name without a password', { username }],
  ])('%s: everything is refused as not configured', (_name, credentials) => {
    for (const authorization of [undefined, 'Bearer ', `Bearer ${secret}`, `Basic ${b64(`${username}:`)}`]) {
      expect(checkCronAuth(headers(authorization), credentials)).toMatchObject({ ok: false, reason: 'not_configured' });
    }
  });
});

describe('checkCronAuth compares secrets in constant time', () => {
  beforeEach(() => {
    constantTimeEqual.mockClear();
  });

  // What each comparison was given, and what it answered.
  const comparisons = () =>
    constantTimeEqual.mock.calls.map(([a, b], i) => ({
      lengths: [(a as Buffer).length, (b as Buffer).length],
      equal: constantTimeEqual.mock.results[i]!.value as boolean,
    }));

  test.each([
    ['the right secret', secret, true],
    ['a wrong secret of the same length', 'x'.repeat(secret.length), false],
    ['a prefix of the secret', secret.slice(0, -1), false],
    ['the secret with one character more', `${secret}x`, false],
    ['a one-character guess', 'x', false],
    ['a guess of 1 000 characters', 'x'.repeat(1_000), false],
  ])('Bearer with %s: one constant-time comparison of equal-length digests decides', (_name, guess, accepted) => {
    expect(checkCronAuth(headers(`Bearer ${guess}`), both).ok).toBe(accepted);
    // Equal lengths whatever the guess: neither the secret's length nor a matching prefix can show in the time taken.
    expect(comparisons()).toEqual([{ lengths: [32, 32], equal: accepted }]);
  });

  test.each([
    ['the right user name and password', username, password, true],
    ['a wrong user name', 'root', password, false],
    ['a wrong password', username, 'wrong', false],
    ['both wrong, of other lengths', 'r', 'x'.repeat(300), false],
  ])('Basic with %s: both halves are compared in constant time, always', (_name, user, pass, accepted) => {
    expect(checkCronAuth(headers(`Basic ${b64(`${user}:${pass}`)}`), both).ok).toBe(accepted);
    // Two comparisons even when the user name is already wrong: no early exit tells which half failed.
    expect(comparisons()).toEqual([
      { lengths: [32, 32], equal: user === username },
      { lengths: [32, 32], equal: pass === password },
    ]);
  });
});
