'use server';
import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import { z } from 'zod';
import { creditsConfig } from '@/config/credits';
import { getCurrentUser } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { getRequestFormatters } from '@/lib/server/request-format';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { MAX_DEMO_RUNS } from './demo';

export type SpendState = {
  status: 'idle' | 'spent' | 'replayed' | 'insufficient' | 'invalid';
  message: string | null;
};

const spendSchema = z.object({
  /** Generated with each render of the form: submitting the same form twice spends once. */
  key: z.uuid(),
  runs: z.coerce.number().int().min(1).max(MAX_DEMO_RUNS),
});

/** The demo action: `runs` × the configured cost, through the consume usecase under the form's key. */
export async function spendDemoCredits(_previous: SpendState, formData: FormData): Promise<SpendState> {
  const user = await getCurrentUser();
  if (!user) redirect('/sign-in');
  const parsed = spendSchema.safeParse({ key: formData.get('key'), runs: formData.get('runs') });
  if (!parsed.success) return { status: 'invalid', message: `Choose a number of runs between 1 and ${MAX_DEMO_RUNS}.` };
  const { key, runs } = parsed.data;
  const format = await getRequestFormatters();
  const result = await consumeCredits(await getDb(), {
    userId: user.id,
    amount: runs * creditsConfig.demoActionCost,
    reason: 'demo-action',
    // Scoped to the user, so a key copied from someone else's page can never touch their operation.
    idempotencyKey: `demo:${user.id}:${key}`,
    metadata: { runs },
  });
  if (result.ok) {
    revalidatePath('/credits');
    if (result.replayed)
      return { status: 'replayed', message: 'This spend was already recorded (the form was sent twice); nothing more was taken.' };
    return {
      status: 'spent',
      message: `Spent ${format.credits(result.amount)} credits. Your balance is now ${format.credits(result.balanceAfter)}.`,
    };
  }
  if (result.reason === 'insufficient_credits') {
    return {
      status: 'insufficient',
      message: `Not enough credits: this costs ${format.credits(result.requested)} and you have ${format.credits(result.available)} available. Nothing was spent.`,
    };
  }
  if (result.reason === 'idempotency_conflict') {
    return { status: 'invalid', message: 'This form was already used for another amount. Reload the page and try again.' };
  }
  throw new Error(`Demo spend failed: ${result.message}`);
}
