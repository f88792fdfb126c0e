import 'server-only';
import { cache } from 'react';
import { headers } from 'next/headers';
import { createFormatters, pickLocale, type Formatters } from '@/lib/format';

/** Formatters in the locale of the current request's Accept-Language header. */
export const getRequestFormatters = cache(async (): Promise<Formatters> => {
  return createFormatters(pickLocale((await headers()).get('accept-language')));
});
