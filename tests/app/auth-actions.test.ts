import { beforeEach, describe, expect, it, vi } from 'vitest';
import { APIError } from 'better-auth/api';

// The forms' server actions without Next or a database: Better Auth's answers are stubbed, a redirect
// is thrown as Next throws it, and what the form shows afterwards is the action's returned state.
const api = { signUpEmail: vi.fn(), signInEmail: vi.fn() };
vi.mock('@/lib/server/auth/auth', () => ({ getAuth: async () => ({ api }) }));
vi.mock('next/headers', () => ({ headers: async () => new Headers() }));
vi.mock('next/navigation', () => ({
  redirect: (url: string) => {
    throw new Error(`redirect ${url}`);
  },
}));

const { signIn, signUp } = await import('@/app/(auth)/actions');

const initial = { error: null, notice: null, name: '', email: '' };
const form = (fields: Record<string, string>) => {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
};
const refused = (code: string) => new APIError('BAD_REQUEST', { code, message: `${code} from Better Auth` });

beforeEach(() => {
  api.signUpEmail.mockReset();
  api.signInEmail.mockReset();
});

describe('sign-up', () => {
  it('a valid form creates the account with the normalized email, its link coming back to the credits page, and says to check the inbox', async () => {
    expect(await signUp(initial, form({ name: ' Ann ', email: ' Ann@Example.TEST ', password: 'correct horse' }))).toEqual({
      error: null,
      notice: 'Check your inbox: we have sent a link to ann@example.test. Open it to confirm your address and receive your credits.',
      name: ' Ann ',
      email: ' Ann@Example.TEST ',
    });
    expect(api.signUpEmail).toHaveBeenCalledWith({
      body: { name: 'Ann', email: 'ann@example.test', password: 'correct horse', callbackURL: '/credits' },
      headers: expect.any(Headers),
    });
  });

  it.each([
    [{ name: '', email: 'ann@example.test', password: 'correct horse' }, 'Enter your name.'],
    [{ name: 'x'.repeat(101), email: 'ann@example.test', password: 'correct horse' }, 'Use at most 100 characters for the name.'],
    [{ name: 'Ann\nAdmin', email: 'ann@example.test', password: 'correct horse' }, 'Use no line breaks or control characters in the name.'],
    [{ name: 'Ann', email: 'not-an-email', password: 'correct horse' }, 'Enter a valid email address.'],
    [{ name: 'Ann', email: 'ann@example.test', password: 'short' }, 'Use at least 8 characters for the password.'],
    [{ name: 'Ann', email: 'ann@example.test' }, 'Choose a password.'],
  ])('an invalid form (%j) is refused with "%s" and what was typed, and Better Auth is not asked', async (fields, error) => {
    expect(await signUp(initial, form(fields))).toEqual({ error, name: fields.name, email: fields.email });
    expect(api.signUpEmail).not.toHaveBeenCalled();
  });

  it('a refusal is shown in words, with what was typed (as typed, not normalized)', async () => {
    api.signUpEmail.mockRejectedValue(refused('PASSWORD_TOO_SHORT'));
    expect(await signUp(initial, form({ name: 'Ann', email: ' Ann@Example.TEST', password: 'correct horse' }))).toEqual({
      error: 'PASSWORD_TOO_SHORT from Better Auth',
      name: 'Ann',
      email: ' Ann@Example.TEST',
    });
  });

  it('an unexpected failure is thrown to the error page', async () => {
    api.signUpEmail.mockRejectedValue(new Error('database down'));
    await expect(signUp(initial, form({ name: 'Ann', email: 'ann@example.test', password: 'correct horse' }))).rejects.toThrow(
      'database down',
    );
  });
});

describe('sign-in', () => {
  it('valid credentials sign in and go to the credits page', async () => {
    await expect(signIn(initial, form({ email: 'ann@example.test', password: 'pw' }))).rejects.toThrow('redirect /credits');
    expect(api.signInEmail).toHaveBeenCalledWith({
      body: { email: 'ann@example.test', password: 'pw', callbackURL: '/credits' },
      headers: expect.any(Headers),
    });
  });

  it('the page that sent the user to sign in (next=/pricing) is where the user returns; another site never is', async () => {
    await expect(signIn(initial, form({ email: 'ann@example.test', password: 'pw', next: '/pricing' }))).rejects.toThrow(
      'redirect /pricing',
    );
    await expect(signIn(initial, form({ email: 'ann@example.test', password: 'pw', next: '//evil.example' }))).rejects.toThrow(
      'redirect /credits',
    );
    // A sign-up's verification link comes back there too.
    await signUp(initial, form({ name: 'Ann', email: 'ann@example.test', password: 'correct horse', next: '/billing' }));
    expect(api.signUpEmail.mock.calls[0]![0].body.callbackURL).toBe('/billing');
  });

  it('a wrong password is refused in words, with the email typed back and no name', async () => {
    api.signInEmail.mockRejectedValue(
      new APIError('UNAUTHORIZED', { code: 'INVALID_EMAIL_OR_PASSWORD', message: 'Invalid email or password' }),
    );
    expect(await signIn(initial, form({ email: 'ann@example.test', password: 'wrong' }))).toEqual({
      error: 'Wrong email or password.',
      name: '',
      email: 'ann@example.test',
    });
  });

  it('an empty password is refused before Better Auth is asked', async () => {
    expect(await signIn(initial, form({ email: 'ann@example.test', password: '' }))).toEqual({
      error: 'Enter your password.',
      name: '',
      email: 'ann@example.test',
    });
    expect(api.signInEmail).not.toHaveBeenCalled();
  });

  it('the right password for an unverified address says a new link was sent', async () => {
    api.signInEmail.mockRejectedValue(refused('EMAIL_NOT_VERIFIED'));
    expect((await signIn(initial, form({ email: 'ann@example.test', password: 'pw' }))).error).toBe(
      'Confirm your email address first: we have just sent you a new link.',
    );
  });

  it('another refusal under 500 shows Better Auth’s own message', async () => {
    api.signInEmail.mockRejectedValue(refused('BANNED_USER'));
    expect((await signIn(initial, form({ email: 'ann@example.test', password: 'pw' }))).error).toBe('BANNED_USER from Better Auth');
  });
});
