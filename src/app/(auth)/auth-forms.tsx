'use client';
import { useActionState } from 'react';
import { signIn, signUp, type AuthFormState } from './actions';
import styles from '@/components/form.module.css';

const initial: AuthFormState = { error: null, name: '', email: '' };

/** `next`: the page to return to after signing in, carried through the form (checked again by the action). */
export function SignUpForm({ next }: { next: string }) {
  const [state, action, pending] = useActionState(signUp, initial);
  return (
    <form action={action} className={styles.form} noValidate>
      <input type="hidden" name="next" value={next} />
      <label className={styles.field}>
        <span>Name</span>
        <input className={styles.input} name="name" autoComplete="name" required defaultValue={state.name} />
      </label>
      <label className={styles.field}>
        <span>Email</span>
        <input className={styles.input} name="email" type="email" autoComplete="email" required defaultValue={state.email} />
      </label>
      <label className={styles.field}>
        <span>Password</span>
        <input className={styles.input} name="password" type="password" autoComplete="new-password" minLength={8} required />
        <small className={styles.hint}>At least 8 characters.</small>
      </label>
      {state.error && (
        <p className={styles.error} role="alert" data-testid="form-error">
          {state.error}
        </p>
      )}
      <button className={styles.button} type="submit" disabled={pending}>
        {pending ? 'Creating your account…' : 'Create account'}
      </button>
    </form>
  );
}

export function SignInForm({ next }: { next: string }) {
  const [state, action, pending] = useActionState(signIn, initial);
  return (
    <form action={action} className={styles.form} noValidate>
      <input type="hidden" name="next" value={next} />
      <label className={styles.field}>
        <span>Email</span>
        <input className={styles.input} name="email" type="email" autoComplete="email" required defaultValue={state.email} />
      </label>
      <label className={styles.field}>
        <span>Password</span>
        <input className={styles.input} name="password" type="password" autoComplete="current-password" required />
      </label>
      {state.error && (
        <p className={styles.error} role="alert" data-testid="form-error">
          {state.error}
        </p>
      )}
      <button className={styles.button} type="submit" disabled={pending}>
        {pending ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
