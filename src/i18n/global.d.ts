import type messages from '../../messages/en.json';

// English is the reference: every key used in code must exist in messages/en.json (the type check
// refuses a missing or misspelt one), and tests/i18n/messages.test.ts holds every other language to its keys.
declare module 'next-intl' {
  interface AppConfig {
    Messages: typeof messages;
  }
}
