import 'server-only';
import { headers } from 'next/headers';
import { env } from '@/env';

/**
 * The origin the provider sends the buyer back to: BETTER_AUTH_URL (the app's public URL) when set,
 * else this request's own host (Next.js already checks that a server action's Origin matches it).
 */
export async function requestOrigin(): Promise<string> {
  const configured = env().BETTER_AUTH_URL;
  if (configured) return new URL(configured).origin;
  const requestHeaders = await headers();
  const host = requestHeaders.get('x-forwarded-host') ?? requestHeaders.get('host') ?? 'localhost:3000';
  const protocol = requestHeaders.get('x-forwarded-proto') ?? 'http';
  return `${protocol}://${host}`;
}
