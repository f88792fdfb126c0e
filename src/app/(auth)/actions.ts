'use server';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { isAPIError } from 'better-auth/api';
import { z } from 'zod';
import { getAuth } from '@/lib/server/auth/auth';
import { validatedAction } from '@/lib/server/validated-action';
import { safeReturnPath } from '@/lib/return-path';

/** What a sign-in or sign-up form shows after a failed attempt: the message, and what to type back in. */
export type AuthFormState = { error: string | null; name: string; email: string };

const email = z
  .string({ error: 'Enter your email address.' })
  .trim()
  .toLowerCase()
  .pipe(z.email({ error: 'Enter a valid email address.' }).max(254));

const signUpSchema = z.object({
  name: z.string({ error: 'Enter your name.' }).trim().min(1, 'Enter your name.').max(100, 'Use at most 100 characters for the name.'),
  email,
  password: z
    .string({ error: 'Choose a password.' })
    .min(8, 'Use at least 8 characters for the password.')
    .max(128, 'Use at most 128 characters for the password.'),
});

const signInSchema = z.object({
  email,
  password: z.string({ error: 'Enter your password.' }).min(1, 'Enter your password.').max(128),
});

function echo(formData: FormData): Omit<AuthFormState, 'error'> {
  const text = (name: string) => {
    const value = formData.get(name);
    return typeof value === 'string' ? value : '';
  };
  return { name: text('name'), email: text('email') };
}

/** Better Auth's expected refusals, in words a user can act on; anything else is thrown to the error page. */
function refusal(error: unknown): string | null {
  if (!isAPIError(error)) return null;
  const code = (error.body as { code?: string } | undefined)?.code;
  switch (code) {
    case 'USER_ALREADY_EXISTS':
    case 'USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL':
      return 'An account with this email already exists. Sign in instead.';
    case 'INVALID_EMAIL_OR_PASSWORD':
      return 'Wrong email or password.';
    default:
      return error.statusCode < 500 ? (error.body?.message ?? 'That did not work. Check the form and try again.') : null;
  }
}

/**
 * A sign-in or sign-up action: the form is parsed with `schema`, then `call` asks Better Auth. A refusal
 * Better Auth expects (a taken email, a wrong password) is shown on the form; success goes to the page
 * the form's hidden `next` names (a path of this site only), else to the credits page.
 */
function authAction<Schema extends z.ZodType>(schema: Schema, call: (body: z.output<Schema>) => Promise<unknown>) {
  return validatedAction(
    schema,
    async (body, formData): Promise<AuthFormState> => {
      try {
        await call(body);
      } catch (error) {
        const message = refusal(error);
        if (message === null) throw error;
        return { ...echo(formData), error: message };
      }
      redirect(safeReturnPath(formData.get('next')));
    },
    (error, formData) => ({ ...echo(formData), error }),
  );
}

// Creating the user runs the databaseHooks in auth.ts: the sign-up bonus and this month's free credits.
export const signUp = authAction(signUpSchema, async (body) => (await getAuth()).api.signUpEmail({ body, headers: await headers() }));

export const signIn = authAction(signInSchema, async (body) => (await getAuth()).api.signInEmail({ body, headers: await headers() }));

export async function signOut(): Promise<void> {
  await (await getAuth()).api.signOut({ headers: await headers() });
  redirect('/');
}
