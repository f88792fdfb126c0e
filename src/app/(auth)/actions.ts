'use server';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { isAPIError } from 'better-auth/api';
import { getTranslations } from 'next-intl/server';
import { z } from 'zod';
import { formError } from '@/i18n/form-errors';
import { getAuth } from '@/lib/server/auth/auth';
import { TOO_MANY_ATTEMPTS, retryAfterMinutes } from '@/lib/server/auth/rate-limit';
import { validatedAction } from '@/lib/server/validated-action';
import { userName } from '@/lib/user-profile';
import { safeReturnPath } from '@/lib/return-path';

/**
 * What an account form shows after a submit: an error, or a notice (the sign-up's and the reset
 * request's "check your inbox"), and what to type back in.
 */
export type AuthFormState = { error: string | null; notice?: string | null; name: string; email: string };

const email = z
  .string({ error: formError('enterEmail') })
  .trim()
  .toLowerCase()
  .pipe(z.email({ error: formError('invalidEmail') }).max(254));

const newPassword = z
  .string({ error: formError('choosePassword') })
  .min(8, formError('passwordTooShort'))
  .max(128, formError('passwordTooLong'));

const signUpSchema = z.object({
  name: userName.min(1, formError('enterName')),
  email,
  password: newPassword,
});

const signInSchema = z.object({
  email,
  password: z
    .string({ error: formError('enterPassword') })
    .min(1, formError('enterPassword'))
    .max(128),
});

const forgotPasswordSchema = z.object({ email });

const resetPasswordSchema = z.object({
  token: z
    .string({ error: formError('linkIncomplete') })
    .min(1, formError('linkIncomplete'))
    .max(256),
  password: newPassword,
});

function echo(formData: FormData): Omit<AuthFormState, 'error'> {
  const text = (name: string) => {
    const value = formData.get(name);
    return typeof value === 'string' ? value : '';
  };
  return { name: text('name'), email: text('email') };
}

/**
 * Better Auth's expected refusals, in words a user can act on; anything else is thrown to the error page.
 * None of them tells whether an address has an account (docs/accounts.md): a sign-in with an unknown
 * address or a wrong password gets the same words, and only the right password learns that the
 * address still needs confirming.
 */
async function refusal(error: unknown): Promise<string | null> {
  if (!isAPIError(error)) return null;
  const t = await getTranslations('auth.errors');
  const code = (error.body as { code?: string } | undefined)?.code;
  switch (code) {
    case 'INVALID_EMAIL_OR_PASSWORD':
      return t('wrongPassword');
    case TOO_MANY_ATTEMPTS:
      // When to try again, from the answer's Retry-After (the body's message is the API's English).
      return t('tooManyAttempts', { minutes: retryAfterMinutes(error) });
    case 'EMAIL_NOT_VERIFIED':
      return t('emailNotVerified');
    case 'INVALID_TOKEN':
      return t('invalidToken');
    default:
      // A refusal without words here shows Better Auth's own message (in English).
      return error.statusCode < 500 ? (error.body?.message ?? t('generic')) : null;
  }
}

/**
 * An account action: the form is parsed with `schema`, then `call` asks Better Auth. A refusal Better
 * Auth expects (a wrong password) is shown on the form. Success either shows the notice `call` returns
 * (a mail was sent), or goes to the page the form's hidden `next` names (a path of this site only),
 * else to the credits page.
 */
function authAction<Schema extends z.ZodType>(schema: Schema, call: (body: z.output<Schema>, next: string) => Promise<string | void>) {
  return validatedAction(
    schema,
    async (body, formData): Promise<AuthFormState> => {
      const next = safeReturnPath(formData.get('next'));
      let notice: string | void;
      try {
        notice = await call(body, next);
      } catch (error) {
        const message = await refusal(error);
        if (message === null) throw error;
        return { ...echo(formData), error: message };
      }
      if (notice) return { ...echo(formData), error: null, notice };
      redirect(next);
    },
    (error, formData) => ({ ...echo(formData), error }),
  );
}

// Better Auth answers a taken address exactly as a new one (requireEmailVerification, auth.ts) and mails
// its owner instead, so this shows the same notice either way. The mailed link comes back to `next`.
export const signUp = authAction(signUpSchema, async (body, next) => {
  await (await getAuth()).api.signUpEmail({ body: { ...body, callbackURL: next }, headers: await headers() });
  return (await getTranslations('auth.signUp'))('checkInbox', { email: body.email });
});

export const signIn = authAction(signInSchema, async (body, next) => {
  await (await getAuth()).api.signInEmail({ body: { ...body, callbackURL: next }, headers: await headers() });
});

// Better Auth answers the same for an unknown address (and mails nothing); the link leads to /reset-password.
export const requestPasswordReset = authAction(forgotPasswordSchema, async (body) => {
  await (
    await getAuth()
  ).api.requestPasswordReset({ body: { email: body.email, redirectTo: '/reset-password' }, headers: await headers() });
  return (await getTranslations('auth.forgotPassword'))('checkInbox', { email: body.email });
});

// A new password ends every session of the account (revokeSessionsOnPasswordReset); the user signs in again.
export const resetPassword = authAction(resetPasswordSchema, async (body) => {
  await (await getAuth()).api.resetPassword({ body: { token: body.token, newPassword: body.password }, headers: await headers() });
});

export async function signOut(): Promise<void> {
  await (await getAuth()).api.signOut({ headers: await headers() });
  redirect('/');
}
