'use client';
import { useActionState } from 'react';
import { useTranslations } from 'next-intl';
import { changeRenewal, type RenewalState } from './actions';
import formStyles from '@/components/form.module.css';
import styles from './billing.module.css';

const initial: RenewalState = { status: 'idle', message: null };

/** Cancel at period end (cancel = true) or Resume (false). */
export function RenewalForm({ subscriptionId, cancel }: { subscriptionId: string; cancel: boolean }) {
  const [state, action, pending] = useActionState(changeRenewal, initial);
  const t = useTranslations('billing.renewal');
  return (
    <form action={action} className={styles.inline}>
      <input type="hidden" name="subscriptionId" value={subscriptionId} />
      <input type="hidden" name="cancel" value={String(cancel)} />
      <button className={cancel ? formStyles.secondary : formStyles.button} type="submit" disabled={pending} data-testid="renewal-button">
        {pending ? t('pending') : t(cancel ? 'cancel' : 'resume')}
      </button>
      {state.message && (
        <p className={state.status === 'done' ? formStyles.success : formStyles.error} role="status">
          {state.message}
        </p>
      )}
    </form>
  );
}
