import { afterEach, describe, expect, it, vi } from 'vitest';
import { EnvError, parseEnv } from '@/env';

const strong = 'x'.repeat(32);

function messageOf(source: Record<string, string | undefined>): string {
  try {
    parseEnv(source);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as Error).message;
  }
  throw new Error('expected parseEnv to fail');
}

describe('the env module', () => {
  it('accepts an empty environment: embedded database, no cron auth yet', () => {
    const env = parseEnv({});
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.PGLITE_DATA_DIR).toBe('.data/pglite');
    expect(env.CRON_TIME_BUDGET_MS).toBe(20_000);
  });

  it('reads ADMIN_EMAILS as a trimmed, lower-cased list, empty when unset', () => {
    expect(parseEnv({}).ADMIN_EMAILS).toEqual([]);
    expect(parseEnv({ ADMIN_EMAILS: ' Ops@Example.com, ,cto@example.com ' }).ADMIN_EMAILS).toEqual(['ops@example.com', 'cto@example.com']);
  });

  it.each([
    [{ ADMIN_EMAILS: 'ops@example.com, not-an-email' }, 'ADMIN_EMAILS'],
    [{ CRON_SECRET: 'short' }, 'CRON_SECRET'],
    [{ CRON_JOBS_USERNAME: 'cron', CRON_JOBS_PASSWORD: 'short' }, 'CRON_JOBS_PASSWORD'],
    [{ CRON_JOBS_USERNAME: 'cron' }, 'CRON_JOBS_PASSWORD'],
    [{ CRON_JOBS_PASSWORD: strong }, 'CRON_JOBS_USERNAME'],
    [{ DATABASE_URL: 'mysql://localhost/db' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ CRON_TIME_BUDGET_MS: 'soon' }, 'CRON_TIME_BUDGET_MS'],
    [{ CREDITS_CHUNK_SIZE: '-5' }, 'CREDITS_CHUNK_SIZE'],
    [{ BETTER_AUTH_URL: 'localhost' }, 'BETTER_AUTH_URL'],
  ])('refuses %j with one line naming %s', (source, variable) => {
    const message = messageOf(source);
    expect(message).toContain(variable);
    expect(message).not.toContain('\n');
  });

  it('reads TRUSTED_IP_HEADER as a lower-cased header name and refuses anything else', () => {
    expect(parseEnv({}).TRUSTED_IP_HEADER).toBeUndefined();
    expect(parseEnv({ TRUSTED_IP_HEADER: ' CF-Connecting-IP ' }).TRUSTED_IP_HEADER).toBe('cf-connecting-ip');
    expect(messageOf({ TRUSTED_IP_HEADER: 'x-real-ip, x-forwarded-for' })).toContain('TRUSTED_IP_HEADER must be a header name');
  });

  it('treats empty strings as unset, as .env files write them', () => {
    expect(parseEnv({ CRON_SECRET: '', DATABASE_URL: '' }).CRON_SECRET).toBeUndefined();
  });

  it('accepts a Basic-auth password that contains colons', () => {
    expect(parseEnv({ CRON_JOBS_USERNAME: 'cron', CRON_JOBS_PASSWORD: `a:b:${strong}` }).CRON_JOBS_PASSWORD).toBe(`a:b:${strong}`);
  });

  describe('in production', () => {
    afterEach(() => vi.unstubAllEnvs());
    const production = {
      NODE_ENV: 'production',
      BETTER_AUTH_SECRET: strong,
      BETTER_AUTH_URL: 'https://app.example.com',
      SMTP_URL: 'smtps://u:p@smtp.example.com:465',
      MAIL_FROM: 'Acme <no-reply@example.com>',
    };

    it('starts with the auth secret and the public URL', () => {
      expect(parseEnv(production).BETTER_AUTH_URL).toBe('https://app.example.com');
    });

    it('refuses to start without BETTER_AUTH_URL, saying what to set', () => {
      const message = messageOf({ ...production, BETTER_AUTH_URL: '' });
      expect(message).toContain('BETTER_AUTH_URL is required in production');
      expect(message).toContain('https://app.example.com');
      expect(message).not.toContain('\n');
    });

    it('refuses to start without BETTER_AUTH_SECRET', () => {
      expect(messageOf({ ...production, BETTER_AUTH_SECRET: undefined })).toContain('BETTER_AUTH_SECRET is required in production');
    });

    it('lets `next build` run without either: the server checks them when it starts', () => {
      vi.stubEnv('NEXT_PHASE', 'phase-production-build');
      expect(parseEnv({ NODE_ENV: 'production' }).BETTER_AUTH_URL).toBeUndefined();
    });

    it('asks for neither outside production', () => {
      expect(parseEnv({ NODE_ENV: 'development' }).BETTER_AUTH_URL).toBeUndefined();
    });
  });
});
