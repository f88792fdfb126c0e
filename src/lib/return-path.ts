/** Where a signed-in user lands when no page asked to come back to. */
export const DEFAULT_RETURN_PATH = '/credits';

/**
 * The page to return to after signing in (`?next=/pricing`): only a path of this site. Anything else
 * (`https://evil.example`, `//evil.example`, `/\evil.example`, a missing or oversized value) gives the
 * credits page, so the parameter can never send a user to another site.
 */
export function safeReturnPath(value: unknown): string {
  if (typeof value !== 'string' || value.length > 512) return DEFAULT_RETURN_PATH;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return DEFAULT_RETURN_PATH;
  // A URL parser is the judge: whatever the string, it must stay on this origin.
  const base = 'http://return-path.invalid';
  const url = new URL(value, base);
  return url.origin === base ? `${url.pathname}${url.search}${url.hash}` : DEFAULT_RETURN_PATH;
}
