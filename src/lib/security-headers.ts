// The app's security headers and its Content-Security-Policy, in one place (docs/security.md).
// Read by next.config.ts (headers on every response) and src/proxy.ts (the per-request CSP of pages),
// both of which load outside the React server graph: this module imports nothing, and cannot carry
// `import 'server-only'` (that package throws unless the `react-server` condition is set).

/** A response header, in the shape next.config.ts's `headers()` takes. */
export type Header = { key: string; value: string };

/**
 * Origins beyond the site's own, per CSP directive. To add a third party (analytics, a chat widget, a
 * font host), add its origin to the directives it needs here, and nothing else: every page's policy is
 * built from this list.
 */
export const allowedOrigins = {
  'script-src': [],
  'connect-src': [],
  'img-src': [],
  'style-src': [],
  'font-src': [],
  'frame-src': [],
  // A buy or "manage subscription" form answers with a redirect to the provider's hosted page; a
  // browser checks form-action on that redirect too, so each provider's checkout and portal origin is here.
  'form-action': ['https://checkout.stripe.com', 'https://billing.stripe.com', 'https://creem.io', 'https://*.creem.io'],
} satisfies Record<string, string[]>;

const permissionsPolicy = ['accelerometer', 'camera', 'geolocation', 'gyroscope', 'magnetometer', 'microphone', 'payment', 'usb']
  .map((feature) => `${feature}=()`)
  .join(', ');

/**
 * The headers of every response, pages and API routes alike. HSTS only in production: a browser that
 * saw it on `localhost` would refuse plain http there for two years.
 */
export function securityHeaders({ production }: { production: boolean }): Header[] {
  return [
    { key: 'X-Content-Type-Options', value: 'nosniff' },
    { key: 'Referrer-Policy', value: 'strict-origin-when-cross-origin' },
    { key: 'Permissions-Policy', value: permissionsPolicy },
    // X-Frame-Options for old browsers; frame-ancestors is the standard one. Pages get a full policy
    // from src/proxy.ts (which also says frame-ancestors 'none'); this one covers every other response.
    { key: 'X-Frame-Options', value: 'DENY' },
    { key: 'Content-Security-Policy', value: "frame-ancestors 'none'" },
    ...(production ? [{ key: 'Strict-Transport-Security', value: 'max-age=63072000; includeSubDomains' }] : []),
  ];
}

/** A fresh nonce for one response (128 random bits, base64), as Next's CSP guide makes it. */
export function createNonce(): string {
  return btoa(crypto.randomUUID());
}

/**
 * A page's Content-Security-Policy (Next.js's nonce pattern): scripts run only with this response's
 * nonce ('strict-dynamic' lets them load Next's chunks); styles come from the site's own stylesheets or
 * carry the nonce, so pages use CSS classes, never a `style` attribute. Development adds what
 * `next dev` needs: 'unsafe-eval' (React rebuilds server error stacks with eval) and inline styles
 * (its error overlay); 'unsafe-inline' is ignored by browsers next to a nonce, so the nonce goes there.
 */
export function contentSecurityPolicy({ nonce, development }: { nonce: string; development: boolean }): string {
  const sources = (directive: keyof typeof allowedOrigins, ...own: string[]) => [...own, ...allowedOrigins[directive]].join(' ');
  const directives = [
    "default-src 'self'",
    `script-src ${sources('script-src', "'self'", `'nonce-${nonce}'`, "'strict-dynamic'", ...(development ? ["'unsafe-eval'"] : []))}`,
    `style-src ${sources('style-src', "'self'", development ? "'unsafe-inline'" : `'nonce-${nonce}'`)}`,
    `img-src ${sources('img-src', "'self'", 'blob:', 'data:')}`,
    `font-src ${sources('font-src', "'self'")}`,
    `connect-src ${sources('connect-src', "'self'")}`,
    `frame-src ${sources('frame-src', "'self'")}`,
    "object-src 'none'",
    "base-uri 'self'",
    `form-action ${sources('form-action', "'self'")}`,
    "frame-ancestors 'none'",
    // Plain http in development (`next dev` on localhost) must keep working.
    ...(development ? [] : ['upgrade-insecure-requests']),
  ];
  return directives.join('; ');
}
