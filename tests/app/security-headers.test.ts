import { afterEach, describe, expect, it, vi } from 'vitest';
import { NextRequest } from 'next/server';
import { unstable_doesMiddlewareMatch, unstable_getResponseFromNextConfig } from 'next/experimental/testing/server';
import nextConfig from '../../next.config';
import { config as proxyConfig, proxy } from '@/proxy';
import { contentSecurityPolicy } from '@/lib/security-headers';

// The headers of every response (next.config.ts) and the per-request policy of pages (src/proxy.ts), as
// Next applies them; tests/e2e/security-headers.e2e.test.ts checks the same against `next start` in a browser.
afterEach(() => vi.unstubAllEnvs());

const everyResponse = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
};

const configHeaders = async (path: string) =>
  (await unstable_getResponseFromNextConfig({ url: `https://app.example.com${path}`, nextConfig })).headers;

describe('next.config.ts: the headers of every response', () => {
  it.each([['/credits'], ['/api/auth/get-session'], ['/api/cron/health'], ['/api/jobs/credits/grant'], ['/_next/static/chunks/app.js']])(
    '%s gets nosniff, the referrer and permissions policies, and is never framed',
    async (path) => {
      const headers = await configHeaders(path);
      for (const [name, value] of Object.entries(everyResponse)) expect(headers.get(name), name).toBe(value);
      expect(headers.get('permissions-policy')).toContain('camera=()');
      expect(headers.get('permissions-policy')).toContain('microphone=()');
      expect(headers.get('permissions-policy')).toContain('geolocation=()');
    },
  );

  it('sends HSTS in production only (a browser would otherwise refuse plain http on localhost for two years)', async () => {
    expect((await configHeaders('/api/cron/health')).get('strict-transport-security')).toBeNull();
    vi.stubEnv('NODE_ENV', 'production');
    expect((await configHeaders('/api/cron/health')).get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains');
    expect((await configHeaders('/credits')).get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains');
  });
});

describe('src/proxy.ts: the Content-Security-Policy of pages', () => {
  it.each([['/'], ['/sign-in'], ['/credits'], ['/admin/users/abc'], ['/checkout/test/1f0e']])('runs on the page %s', (url) => {
    expect(unstable_doesMiddlewareMatch({ config: proxyConfig, url })).toBe(true);
  });

  it.each([['/api/cron/health'], ['/api/auth/get-session'], ['/_next/static/chunks/app.js'], ['/_next/image?url=x'], ['/favicon.ico']])(
    'leaves %s to next.config.ts',
    (url) => {
      expect(unstable_doesMiddlewareMatch({ config: proxyConfig, url })).toBe(false);
    },
  );

  it('skips a link prefetch, which renders no document', () => {
    expect(unstable_doesMiddlewareMatch({ config: proxyConfig, url: '/credits', headers: { 'next-router-prefetch': '1' } })).toBe(false);
  });

  it('gives each response its own nonce, in the response policy and in the request headers Next renders with', () => {
    const first = proxy(new NextRequest('https://app.example.com/credits'));
    const second = proxy(new NextRequest('https://app.example.com/credits'));
    const policy = first.headers.get('content-security-policy')!;
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(policy)![1]!;
    expect(nonce.length).toBeGreaterThanOrEqual(24);
    expect(second.headers.get('content-security-policy')).not.toContain(nonce);
    // NextResponse.next({ request: { headers } }) hands these to the page's render.
    expect(first.headers.get('x-middleware-request-content-security-policy')).toBe(policy);
    expect(first.headers.get('x-middleware-request-x-nonce')).toBe(nonce);
  });
});

describe('the policy', () => {
  const directives = (policy: string) => new Map(policy.split('; ').map((d) => [d.split(' ')[0]!, d.split(' ').slice(1).join(' ')]));

  it('in production: scripts and styles by nonce only, no eval, no plugins, no framing, forms to this site and the payment providers', () => {
    const policy = directives(contentSecurityPolicy({ nonce: 'abc', development: false }));
    expect(policy.get('script-src')).toBe("'self' 'nonce-abc' 'strict-dynamic'");
    expect(policy.get('style-src')).toBe("'self' 'nonce-abc'");
    expect(policy.get('object-src')).toBe("'none'");
    expect(policy.get('base-uri')).toBe("'self'");
    expect(policy.get('frame-ancestors')).toBe("'none'");
    expect(policy.get('form-action')).toContain("'self'");
    expect(policy.get('form-action')).toContain('https://checkout.stripe.com');
    expect(policy.has('upgrade-insecure-requests')).toBe(true);
    expect([...policy.values()].join(' ')).not.toContain('unsafe');
  });

  it("in development: 'unsafe-eval' for React's error stacks and inline styles for Next's overlay, and plain http", () => {
    const policy = directives(contentSecurityPolicy({ nonce: 'abc', development: true }));
    expect(policy.get('script-src')).toBe("'self' 'nonce-abc' 'strict-dynamic' 'unsafe-eval'");
    expect(policy.get('style-src')).toBe("'self' 'unsafe-inline'");
    expect(policy.has('upgrade-insecure-requests')).toBe(false);
  });
});
