import { getTranslations } from 'next-intl/server';
import type { CreditSource, LedgerKind } from '@/lib/server/db/schema';
import type { NextGrant } from '@/lib/server/usecases/get-credit-summary';

/**
 * Ledger kinds, credit sources and spending reasons in the request's language (messages: `ledgerKinds`,
 * `creditSources`, `spendReasons`), shared by the credits page and the admin console.
 */
export async function getCreditLabels() {
  const [kinds, sources, reasons, nextGrant] = await Promise.all([
    getTranslations('ledgerKinds'),
    getTranslations('creditSources'),
    getTranslations('spendReasons'),
    getTranslations('credits.nextGrant'),
  ]);
  return {
    /** Kinds added after a page was written show as their own name instead of breaking the page. */
    kind: (kind: LedgerKind | string) => (kinds.has(kind as LedgerKind) ? kinds(kind as LedgerKind) : kind),
    source: (source: CreditSource | string) => (sources.has(source as CreditSource) ? sources(source as CreditSource) : source),
    /** A reason a product gave for spending (`demo-action`), or the reason itself when it has no words yet. */
    reason: (reason: string) => (reasons.has(reason as never) ? reasons(reason as never) : reason),
    /** The line under the next grant: which plan it comes from and why. */
    describeNextGrant: (grant: Pick<NextGrant, 'source' | 'planName'>) => nextGrant(`from.${grant.source}`, { plan: grant.planName }),
  };
}
