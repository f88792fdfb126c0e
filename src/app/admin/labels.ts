import { getTranslations } from 'next-intl/server';
import type { AdminAction } from '@/lib/server/db/schema';

/** The console's words for recorded admin actions and their outcomes, in the request's language. */
export async function getAdminLabels() {
  const t = await getTranslations('admin');
  return {
    action: (action: AdminAction) => t(`actions.${action}`),
    /** A recorded outcome in a few words: done, refused with its reason (and the message recorded then), or still running. */
    outcome(outcome: Record<string, unknown> | null): string {
      if (outcome === null) return t('outcome.inProgress');
      if (outcome.ok) return t('outcome.done');
      return t('outcome.refused', {
        reason: String(outcome.reason),
        message: typeof outcome.message === 'string' ? outcome.message : 'none',
      });
    },
  };
}

/** The numbers of a run's results (`processed=3 failed=0`), without a per-schedule list: the job's own field names. */
export function countsOf(results: Record<string, unknown> | null): string {
  if (!results) return '';
  return Object.entries(results)
    .filter(([, value]) => typeof value === 'number')
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
}
