'use server';
import { setTimeout as sleep } from 'node:timers/promises';
import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import { getTranslations } from 'next-intl/server';
import { z } from 'zod';
import { formError } from '@/i18n/form-errors';
import { creditsConfig } from '@/config/credits';
import { getCurrentUser, requireUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { setExpiryNotices } from '@/lib/server/usecases/set-expiry-notices';
import { withCredits } from '@/lib/server/usecases/with-credits';
import { validatedAction } from '@/lib/server/validated-action';
import { DEMO_WORK_MS, DemoWorkFailed, MAX_DEMO_RUNS } from './demo';

export type SpendState = {
  status: 'idle' | 'spent' | 'replayed' | 'insufficient' | 'failed' | 'invalid';
  message: string | null;
};

const spendSchema = z.object({
  /** Generated with each render of the form: submitting the same form twice spends once. */
  key: z.uuid(),
  runs: z.coerce.number().int().min(1).max(MAX_DEMO_RUNS),
  /** "Simulate a failure": the work throws, and the held credits go back. */
  fail: z.literal('on').optional(),
});

/**
 * The demo action: `runs` × the configured cost, held while a stand-in for a product's work runs
 * (withCredits), then spent, or given back when the work fails.
 */
export async function spendDemoCredits(_previous: SpendState, formData: FormData): Promise<SpendState> {
  const user = await getCurrentUser();
  if (!user) redirect('/sign-in');
  const parsed = spendSchema.safeParse({ key: formData.get('key'), runs: formData.get('runs'), fail: formData.get('fail') ?? undefined });
  const t = await getTranslations('credits.spend');
  if (!parsed.success) return { status: 'invalid', message: t('invalidRuns', { max: MAX_DEMO_RUNS }) };
  const { key, runs, fail } = parsed.data;
  const cost = runs * creditsConfig.demoActionCost;
  let result;
  try {
    result = await withCredits(
      // Scoped to the user, so a key copied from someone else's page can never touch their hold.
      { userId: user.id, cost, key: `demo:${user.id}:${key}`, reason: 'demo-action', metadata: { runs } },
      async () => {
        await sleep(DEMO_WORK_MS);
        if (fail) throw new DemoWorkFailed();
      },
    );
  } catch (error) {
    if (!(error instanceof DemoWorkFailed)) throw error;
    revalidatePath('/credits');
    return {
      status: 'failed',
      message: t('failed', { count: cost }),
    };
  }
  revalidatePath('/credits');
  if (result.ok) {
    if (result.replayed) return { status: 'replayed', message: t('replayed') };
    return { status: 'spent', message: t('spent', { count: result.captured }) };
  }
  switch (result.reason) {
    case 'insufficient_credits':
      return {
        status: 'insufficient',
        message: t('insufficient', { requested: result.requested, available: result.available }),
      };
    case 'idempotency_conflict':
      return { status: 'invalid', message: t('keyConflict') };
    case 'hold_expired':
    case 'hold_released':
      return { status: 'failed', message: t('timedOut') };
    default:
      throw new Error(`Demo spend failed: ${result.message}`);
  }
}

/** What the expiry-notices form shows after it ran: the setting now, and a line about it. */
export type ExpiryNoticesState = { enabled: boolean | null; message: string | null; error: boolean };

const expiryNoticesSchema = z.object({
  enabled: z.enum(['true', 'false'], formError('formOutOfDate')).transform((value) => value === 'true'),
});

/** Turns the "credits expiring soon" mail on or off for the signed-in user. */
export const changeExpiryNotices = validatedAction(
  expiryNoticesSchema,
  async ({ enabled }): Promise<ExpiryNoticesState> => {
    const user = await requireUser('/credits');
    const result = await setExpiryNotices(await getDb(), { userId: user.id, enabled });
    const t = await getTranslations('credits.expiryNotices');
    // A user missing under a live session was deleted meanwhile: the form is out of date.
    if (!result.ok) return { enabled: null, message: t('failed'), error: true };
    revalidatePath('/credits');
    return { enabled: result.enabled, message: result.enabled ? t('turnedOn') : t('turnedOff'), error: false };
  },
  (message): ExpiryNoticesState => ({ enabled: null, message, error: true }),
);
