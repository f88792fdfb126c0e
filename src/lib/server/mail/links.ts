import 'server-only';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { env } from '@/env';

/**
 * The app's public URL, on which every mailed link is built (Better Auth's verification and reset links
 * too: a server action or a job has no request to infer it from): BETTER_AUTH_URL, else – outside
 * production – http://localhost:$PORT, what `npm run dev` serves. Production without BETTER_AUTH_URL is
 * refused at start-up (src/env.ts), so no link is ever built on a request's Host header.
 */
export function appBaseUrl(): string | undefined {
  const { BETTER_AUTH_URL, NODE_ENV, PORT } = env();
  if (BETTER_AUTH_URL) return BETTER_AUTH_URL;
  return NODE_ENV === 'production' ? undefined : `http://localhost:${PORT}`;
}

/** An absolute link into the app for a mail, on `appBaseUrl()`. */
export function appLink(path: string, query: Record<string, string> = {}): string {
  const base = appBaseUrl();
  if (!base) throw new Error("BETTER_AUTH_URL is not set: a mailed link needs the app's public URL");
  const url = new URL(path, base);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url.toString();
}

// Outside production BETTER_AUTH_SECRET may be unset (src/env.ts refuses that in production): links
// signed with this stand-in then work on this machine only, which is all development needs.
const DEVELOPMENT_SECRET = 'development-only-mail-link-secret';

/** What a token may do: a token signed for one purpose is refused for any other. */
export type SignedPurpose = 'unsubscribe-expiry-notices';

function signature(purpose: SignedPurpose, subject: string): Buffer {
  const secret = env().BETTER_AUTH_SECRET ?? DEVELOPMENT_SECRET;
  return createHmac('sha256', secret).update(`${purpose}\n${subject}`).digest();
}

/**
 * A token naming `subject` (a user id) for `purpose`, signed with BETTER_AUTH_SECRET (HMAC-SHA256):
 * `<subject, base64url>.<signature, base64url>`. It does not expire: an unsubscribe link in an old
 * mail must still work. Rotating BETTER_AUTH_SECRET invalidates every link already sent.
 */
export function signToken(purpose: SignedPurpose, subject: string): string {
  return `${Buffer.from(subject).toString('base64url')}.${signature(purpose, subject).toString('base64url')}`;
}

/** The subject of a token signed for `purpose`, or null (malformed, tampered, another purpose or secret). */
export function verifyToken(purpose: SignedPurpose, token: string): string | null {
  const [encodedSubject, encodedSignature, ...rest] = token.split('.');
  if (!encodedSubject || !encodedSignature || rest.length > 0) return null;
  const subject = Buffer.from(encodedSubject, 'base64url').toString();
  const given = Buffer.from(encodedSignature, 'base64url');
  const expected = signature(purpose, subject);
  // Compared in constant time; a token of another length is refused before (timingSafeEqual throws on it).
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  // Base64url decoding is lenient: accept only the canonical encoding, so one user has one token.
  return Buffer.from(subject).toString('base64url') === encodedSubject ? subject : null;
}
