'use client';
import { useActionState } from 'react';
import { useTranslations } from 'next-intl';
import { buyProduct, type BuyState } from './actions';
import formStyles from '@/components/form.module.css';
import styles from './pricing.module.css';

const initial: BuyState = { error: null };

export function BuyButton({ productId, label, disabled }: { productId: string; label: string; disabled: boolean }) {
  const [state, action, pending] = useActionState(buyProduct, initial);
  const t = useTranslations('pricing');
  return (
    <form action={action} className={styles.buy}>
      <input type="hidden" name="productId" value={productId} />
      <button className={formStyles.button} type="submit" disabled={disabled || pending} data-testid={`buy-${productId}`}>
        {pending ? t('openingCheckout') : label}
      </button>
      {state.error && (
        <p className={formStyles.error} role="alert">
          {state.error}
        </p>
      )}
    </form>
  );
}
