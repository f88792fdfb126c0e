'use client';
import { useActionState, type ReactNode } from 'react';
import Link from 'next/link';
import { useTranslations } from 'next-intl';
import type { AdminActionState } from './action-state';
import formStyles from '@/components/form.module.css';
import styles from './admin.module.css';

type Props = {
  action: (previous: AdminActionState, formData: FormData) => Promise<AdminActionState>;
  /** Rendered with the page: the same submission sent twice carries it twice, and the second does nothing. */
  idempotencyKey: string;
  submitLabel: string;
  /** Fixed fields (the user, the run…). */
  hidden?: Record<string, string>;
  children?: ReactNode;
  secondary?: boolean;
  testId?: string;
};

/** An admin action's form: the server action answers with a message and the key for the next submission. */
export function ActionForm({ action, idempotencyKey, submitLabel, hidden = {}, children, secondary, testId }: Props) {
  const [state, formAction, pending] = useActionState(action, { status: 'idle', message: null, key: idempotencyKey });
  const t = useTranslations('admin');
  return (
    <form action={formAction} className={styles.row} data-testid={testId}>
      <input type="hidden" name="key" value={state.key} />
      {Object.entries(hidden).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
      {children}
      <button className={secondary ? formStyles.secondary : formStyles.button} type="submit" disabled={pending}>
        {pending ? t('working') : submitLabel}
      </button>
      {state.message && (
        <p
          className={state.status === 'done' ? formStyles.success : formStyles.error}
          role="status"
          data-testid={testId && `${testId}-message`}
        >
          {state.message} {state.link && <Link href={state.link.href}>{state.link.label}</Link>}
        </p>
      )}
    </form>
  );
}
