import { z } from 'zod';
import { formError } from '@/i18n/form-errors';

// What a user may say about themselves, and its limits: read by the sign-up form's schema and by the
// auth library's database hooks (src/lib/server/auth/profile-fields.ts), which every path that writes
// a user passes through: the sign-up form, Better Auth's own HTTP endpoints, the admin plugin. Errors
// are message keys (formError): the form shows them in the reader's language, the API in English.

/** The longest name a user may have, in characters (after trimming). */
export const USER_NAME_MAX_LENGTH = 100;
/** The longest avatar URL a user may have. */
export const USER_IMAGE_MAX_LENGTH = 2048;

/** A name: trimmed, at most USER_NAME_MAX_LENGTH characters, no control characters (line breaks included). */
export const userName = z
  .string({ error: formError('enterName') })
  .trim()
  .max(USER_NAME_MAX_LENGTH, formError('nameTooLong'))
  .regex(/^[^\p{Cc}]*$/u, formError('nameControlChars'));

const httpUrl = z.url({ protocol: /^https?$/ });

/** An avatar: an http(s) URL, or nothing (empty or null). Anything else (`javascript:`, `data:`) is refused. */
export const userImage = z
  .string({ error: formError('imageNotHttp') })
  .trim()
  .max(USER_IMAGE_MAX_LENGTH, formError('imageTooLong'))
  .refine((value) => value === '' || httpUrl.safeParse(value).success, formError('imageNotHttp'))
  .nullable();

/** The profile fields of a user that a request may set; each is checked only when given. */
export const userProfileFields = z.object({ name: userName, image: userImage }).partial();
