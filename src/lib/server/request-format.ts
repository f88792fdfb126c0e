import 'server-only';
import { cache } from 'react';
import { getLocale } from 'next-intl/server';
import { createFormatters, type Formatters } from '@/lib/format';

/** Formatters in the current request's locale (the one next-intl formats messages in). */
export const getRequestFormatters = cache(async (): Promise<Formatters> => createFormatters(await getLocale()));
