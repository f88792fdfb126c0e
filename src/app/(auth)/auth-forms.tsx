'use client';
import { useActionState } from 'react';
import { useTranslations } from 'next-intl';
import { requestPasswordReset, resetPassword, signIn, signUp, type AuthFormState } from './actions';
import styles from '@/components/form.module.css';

const initial: AuthFormState = { error: null, notice: null, name: '', email: '' };

function FormError({ state }: { state: AuthFormState }) {
  return state.error ? (
    <p className={styles.error} role="alert" data-testid="form-error">
      {state.error}
    </p>
  ) : null;
}

/** What replaces a form once its mail is sent: the same words whether or not the address has an account. */
function Notice({ text }: { text: string }) {
  return (
    <p className={styles.success} role="status" data-testid="form-notice">
      {text}
    </p>
  );
}

/** `next`: the page to return to after signing in, carried through the form (checked again by the action). */
export function SignUpForm({ next }: { next: string }) {
  const [state, action, pending] = useActionState(signUp, initial);
  const t = useTranslations('auth');
  if (state.notice) return <Notice text={state.notice} />;
  return (
    <form action={action} className={styles.form} noValidate>
      <input type="hidden" name="next" value={next} />
      <label className={styles.field}>
        <span>{t('name')}</span>
        <input className={styles.input} name="name" autoComplete="name" required defaultValue={state.name} />
      </label>
      <label className={styles.field}>
        <span>{t('email')}</span>
        <input className={styles.input} name="email" type="email" autoComplete="email" required defaultValue={state.email} />
      </label>
      <label className={styles.field}>
        <span>{t('password')}</span>
        <input className={styles.input} name="password" type="password" autoComplete="new-password" minLength={8} required />
        <small className={styles.hint}>{t('passwordHint')}</small>
      </label>
      <FormError state={state} />
      <button className={styles.button} type="submit" disabled={pending}>
        {pending ? t('signUp.pending') : t('signUp.submit')}
      </button>
    </form>
  );
}

export function SignInForm({ next }: { next: string }) {
  const [state, action, pending] = useActionState(signIn, initial);
  const t = useTranslations('auth');
  return (
    <form action={action} className={styles.form} noValidate>
      <input type="hidden" name="next" value={next} />
      <label className={styles.field}>
        <span>{t('email')}</span>
        <input className={styles.input} name="email" type="email" autoComplete="email" required defaultValue={state.email} />
      </label>
      <label className={styles.field}>
        <span>{t('password')}</span>
        <input className={styles.input} name="password" type="password" autoComplete="current-password" required />
      </label>
      <FormError state={state} />
      <button className={styles.button} type="submit" disabled={pending}>
        {pending ? t('signIn.pending') : t('signIn.submit')}
      </button>
    </form>
  );
}

export function ForgotPasswordForm() {
  const [state, action, pending] = useActionState(requestPasswordReset, initial);
  const t = useTranslations('auth');
  if (state.notice) return <Notice text={state.notice} />;
  return (
    <form action={action} className={styles.form} noValidate>
      <label className={styles.field}>
        <span>{t('email')}</span>
        <input className={styles.input} name="email" type="email" autoComplete="email" required defaultValue={state.email} />
      </label>
      <FormError state={state} />
      <button className={styles.button} type="submit" disabled={pending}>
        {pending ? t('forgotPassword.pending') : t('forgotPassword.submit')}
      </button>
    </form>
  );
}

/** `token`: from the mailed link. Success goes to the sign-in page, which says the password changed. */
export function ResetPasswordForm({ token }: { token: string }) {
  const [state, action, pending] = useActionState(resetPassword, initial);
  const t = useTranslations('auth');
  return (
    <form action={action} className={styles.form} noValidate>
      <input type="hidden" name="token" value={token} />
      <input type="hidden" name="next" value="/sign-in?reset=done" />
      <label className={styles.field}>
        <span>{t('resetPassword.newPassword')}</span>
        <input className={styles.input} name="password" type="password" autoComplete="new-password" minLength={8} required />
        <small className={styles.hint}>{t('resetPassword.hint')}</small>
      </label>
      <FormError state={state} />
      <button className={styles.button} type="submit" disabled={pending}>
        {pending ? t('resetPassword.pending') : t('resetPassword.submit')}
      </button>
    </form>
  );
}
