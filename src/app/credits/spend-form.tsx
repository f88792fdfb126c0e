'use client';
import { useActionState } from 'react';
import { useTranslations } from 'next-intl';
import { spendDemoCredits, type SpendState } from './actions';
import formStyles from '@/components/form.module.css';
import styles from './credits.module.css';

const initial: SpendState = { status: 'idle', message: null };

export function SpendForm({ idempotencyKey, cost, maxRuns }: { idempotencyKey: string; cost: number; maxRuns: number }) {
  const [state, action, pending] = useActionState(spendDemoCredits, initial);
  const t = useTranslations('credits.demo');
  return (
    <form action={action} className={styles.spendForm} data-testid="spend-form">
      <input type="hidden" name="key" value={idempotencyKey} />
      <label className={styles.runs}>
        <span>{t('runs')}</span>
        <input className={formStyles.input} name="runs" type="number" min={1} max={maxRuns} defaultValue={1} required />
      </label>
      <label className={styles.fail}>
        <input type="checkbox" name="fail" />
        <span>{t('simulateFailure')}</span>
      </label>
      <button className={formStyles.button} type="submit" disabled={pending}>
        {pending ? t('pending') : t('submit')}
      </button>
      <p className={styles.muted}>{t('cost', { count: cost })}</p>
      {state.message && (
        <p
          className={state.status === 'spent' || state.status === 'replayed' ? formStyles.success : formStyles.error}
          role="status"
          data-testid="spend-message"
        >
          {state.message}
        </p>
      )}
    </form>
  );
}
