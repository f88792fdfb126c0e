import { createTranslator, type Messages } from 'next-intl';
import messages from '../../messages/en.json';

// `next-intl/server` reads the request through Next's runtime, which unit tests do not have: pages and
// actions called from tests speak English, in en-US formats, and a missing key throws instead of
// rendering the key.
const locale = 'en-US';

export async function getLocale() {
  return locale;
}

export async function getTranslations(namespace?: string) {
  return createTranslator({
    locale,
    messages: messages as Messages,
    namespace: namespace as never,
    timeZone: 'UTC',
    onError: (error) => {
      throw error;
    },
  });
}
