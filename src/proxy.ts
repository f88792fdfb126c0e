import { NextResponse, type NextRequest } from 'next/server';
import { contentSecurityPolicy, createNonce } from '@/lib/security-headers';

/**
 * Gives each page its own Content-Security-Policy with a fresh nonce (Next.js's CSP guide): Next reads
 * the nonce from the request's policy header and puts it on its own scripts and styles; a page that
 * adds a script of its own reads it from `x-nonce` (`(await headers()).get('x-nonce')`).
 */
export function proxy(request: NextRequest) {
  const nonce = createNonce();
  const policy = contentSecurityPolicy({ nonce, development: process.env.NODE_ENV === 'development' });
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set('x-nonce', nonce);
  requestHeaders.set('Content-Security-Policy', policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set('Content-Security-Policy', policy);
  return response;
}

export const config = {
  matcher: [
    // Pages only: not API routes (they answer JSON, with next.config.ts's headers), static files, image
    // optimization or the favicon; nor a link's prefetch, which renders no document.
    {
      source: '/((?!api|_next/static|_next/image|favicon.ico).*)',
      missing: [
        { type: 'header', key: 'next-router-prefetch' },
        { type: 'header', key: 'purpose', value: 'prefetch' },
      ],
    },
  ],
};
