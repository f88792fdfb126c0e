import 'server-only';
import { creditsConfig as defaultConfig, findPack, type CreditsConfig } from '@/config/credits';
import type { Database } from '@/lib/server/db/types';
import { creditKeys } from '@/lib/server/credits/keys';
import { addUtcDays } from '@/lib/server/credits/time';
import { grantCredits, type GrantCreditsResult } from './grant-credits';

export type PurchaseCreditPackParams = {
  userId: string;
  packId: string;
  /** The payment provider's id for the purchase: a webhook delivered twice grants once. */
  purchaseId: string;
  now?: Date;
  config?: CreditsConfig;
};

export async function purchaseCreditPack(
  db: Database,
  params: PurchaseCreditPackParams,
): Promise<GrantCreditsResult | { ok: false; reason: 'unknown_pack'; message: string }> {
  const now = params.now ?? new Date();
  const pack = findPack(params.config ?? defaultConfig, params.packId);
  if (!pack) return { ok: false, reason: 'unknown_pack', message: `No credit pack "${params.packId}"` };
  return grantCredits(db, {
    userId: params.userId,
    amount: pack.credits,
    source: 'purchase',
    category: pack.category,
    expiresAt: pack.validityDays ? addUtcDays(now, pack.validityDays) : null,
    idempotencyKey: creditKeys.purchase(params.purchaseId),
    purchaseId: params.purchaseId,
    metadata: { packId: pack.id },
    // The purchase as the buyer made it: redelivered later, it is the same purchase, whatever the clock says.
    request: { userId: params.userId, packId: pack.id },
    now,
  });
}
