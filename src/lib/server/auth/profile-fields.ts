import 'server-only';
import { APIError } from 'better-auth/api';
import { userProfileFields } from '@/lib/user-profile';
import messages from '../../../../messages/en.json';

/**
 * The name and image of a user row about to be written, checked against src/lib/user-profile.ts and
 * returned cleaned (the name trimmed). Throws a 400 naming what is wrong, so the write never happens.
 * Fields the write does not set (absent or undefined) are left alone.
 */
export function checkedProfileFields(fields: Record<string, unknown>): { name?: string; image?: string | null } {
  const given = Object.fromEntries(['name', 'image'].filter((key) => fields[key] !== undefined).map((key) => [key, fields[key]]));
  const parsed = userProfileFields.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // The schema names its errors by message key; the API answers in English, whatever the request's language.
    const message = messages.formErrors[issue.message as keyof typeof messages.formErrors] ?? messages.formErrors.invalid;
    throw new APIError('BAD_REQUEST', { code: `INVALID_${String(issue.path[0] ?? 'profile').toUpperCase()}`, message });
  }
  return parsed.data;
}
