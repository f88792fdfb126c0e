'use server';
import { setTimeout as sleep } from 'node:timers/promises';
import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import { z } from 'zod';
import { creditsConfig } from '@/config/credits';
import { getCurrentUser } from '@/lib/server/auth/session';
import { getRequestFormatters } from '@/lib/server/request-format';
import { withCredits } from '@/lib/server/usecases/with-credits';
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
  if (!parsed.success) return { status: 'invalid', message: `Choose a number of runs between 1 and ${MAX_DEMO_RUNS}.` };
  const { key, runs, fail } = parsed.data;
  const format = await getRequestFormatters();
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
      message: `The demo action failed (as you asked), so nothing was spent: the ${format.credits(cost)} credits it held are back in your balance.`,
    };
  }
  revalidatePath('/credits');
  if (result.ok) {
    if (result.replayed)
      return { status: 'replayed', message: 'This spend was already recorded (the form was sent twice); nothing more was taken.' };
    return { status: 'spent', message: `Spent ${format.credits(result.captured)} credits.` };
  }
  switch (result.reason) {
    case 'insufficient_credits':
      return {
        status: 'insufficient',
        message: `Not enough credits: this costs ${format.credits(result.requested)} and you have ${format.credits(result.available)} available. Nothing was spent.`,
      };
    case 'idempotency_conflict':
      return { status: 'invalid', message: 'This form was already used for another amount. Reload the page and try again.' };
    case 'hold_expired':
    case 'hold_released':
      return { status: 'failed', message: 'The demo action took too long, so nothing was spent: its credits are back in your balance.' };
    default:
      throw new Error(`Demo spend failed: ${result.message}`);
  }
}
