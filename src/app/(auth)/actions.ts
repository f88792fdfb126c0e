'use server';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { isAPIError } from 'better-auth/api';
import { z } from 'zod';
import { getAuth } from '@/lib/server/auth/auth';

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

export async function signUp(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  const parsed = signUpSchema.safeParse(Object.fromEntries(formData));
  if (!parsed.success) return { ...echo(formData), error: parsed.error.issues[0]!.message };
  try {
    // Creating the user runs the databaseHooks in auth.ts: the sign-up bonus and this month's free credits.
    await (await getAuth()).api.signUpEmail({ body: parsed.data, headers: await headers() });
  } catch (error) {
    const message = refusal(error);
    if (message === null) throw error;
    return { ...echo(formData), error: message };
  }
  redirect('/credits');
}

export async function signIn(_previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  const parsed = signInSchema.safeParse(Object.fromEntries(formData));
  if (!parsed.success) return { ...echo(formData), error: parsed.error.issues[0]!.message };
  try {
    await (await getAuth()).api.signInEmail({ body: parsed.data, headers: await headers() });
  } catch (error) {
    const message = refusal(error);
    if (message === null) throw error;
    return { ...echo(formData), error: message };
  }
  redirect('/credits');
}

export async function signOut(): Promise<void> {
  await (await getAuth()).api.signOut({ headers: await headers() });
  redirect('/');
}
