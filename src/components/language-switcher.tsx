'use client';
import { useTransition } from 'react';
import { useTranslations } from 'next-intl';
import { setLocale } from '@/app/locale-actions';
import { localeNames, locales, type AppLocale } from '@/i18n/locales';
import styles from './app-header.module.css';

/**
 * One button per language, each named in its own language. The action stores the choice in a cookie and
 * Next re-renders the page in it. Plain buttons, not a form's submit buttons: the header comes first on
 * every page, and a page's own form (sign-up, sign-in) must stay its first submit button.
 */
export function LanguageSwitcher({ current }: { current: AppLocale }) {
  const t = useTranslations('header');
  const [pending, startTransition] = useTransition();
  return (
    <div role="group" className={styles.languages} aria-label={t('language')} data-testid="language-switcher">
      {locales.map((locale) => (
        <button
          key={locale}
          type="button"
          lang={locale}
          className={styles.linkButton}
          aria-pressed={locale === current}
          disabled={pending || locale === current}
          data-testid={`locale-${locale}`}
          onClick={() => startTransition(() => setLocale(locale))}
        >
          {localeNames[locale]}
        </button>
      ))}
    </div>
  );
}
