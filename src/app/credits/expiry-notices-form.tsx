'use client';
import { useActionState } from 'react';
import { useTranslations } from 'next-intl';
import { changeExpiryNotices, type ExpiryNoticesState } from './actions';
import formStyles from '@/components/form.module.css';
import styles from './credits.module.css';

/** The "credits expiring soon" mail: on or off (the mail's unsubscribe link turns it off too). */
export function ExpiryNoticesForm({ enabled, daysAhead }: { enabled: boolean; daysAhead: number }) {
  const [state, action, pending] = useActionState(changeExpiryNotices, { enabled, message: null, error: false } as ExpiryNoticesState);
  const t = useTranslations('credits.expiryNotices');
  const current = state.enabled ?? enabled;
  return (
    <form action={action} data-testid="expiry-notices-form">
      <p className={styles.muted}>{current ? t('on', { days: daysAhead }) : t('off')}</p>
      <input type="hidden" name="enabled" value={String(!current)} />
      <button className={current ? formStyles.secondary : formStyles.button} type="submit" disabled={pending}>
        {pending ? t('pending') : current ? t('turnOff') : t('turnOn')}
      </button>
      {state.message && (
        <p className={state.error ? formStyles.error : formStyles.success} role="status">
          {state.message}
        </p>
      )}
    </form>
  );
}
