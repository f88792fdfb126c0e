'use server';
import { randomUUID } from 'node:crypto';
import { revalidatePath } from 'next/cache';
import { headers } from 'next/headers';
import { getTranslations } from 'next-intl/server';
import { z } from 'zod';
import { env } from '@/env';
import { MAX_CREDITS } from '@/config/credits';
import { formError } from '@/i18n/form-errors';
import { getAuth } from '@/lib/server/auth/auth';
import { userRoles } from '@/lib/server/auth/roles';
import { requireAdmin } from '@/lib/server/auth/session';
import { getDb } from '@/lib/server/db';
import { creditCategories } from '@/lib/server/db/schema';
import { jobNames } from '@/lib/server/jobs/catalog';
import { validatedAction } from '@/lib/server/validated-action';
import { adminAdjustCredits } from '@/lib/server/usecases/admin-adjust-credits';
import { adminRunJob } from '@/lib/server/usecases/admin-run-job';
import { adminSetUserBanned } from '@/lib/server/usecases/admin-set-user-banned';
import { adminSetUserRole } from '@/lib/server/usecases/admin-set-user-role';
import { adminVoidJobRun } from '@/lib/server/usecases/admin-void-job-run';
import type { AdminActionState } from './action-state';

type Answer = { ok: boolean; message: string; link?: AdminActionState['link'] };
type Translator = Awaited<ReturnType<typeof getTranslations<'admin.answers'>>>;

/**
 * A console action: the admin check first (anyone else gets the 404 of a page that does not exist,
 * whatever they sent), then the form parsed with zod, then the usecase. Every answer carries a fresh key
 * for the form's next submission; the pages are re-rendered to show what changed.
 */
function adminAction<Schema extends z.ZodType>(
  schema: Schema,
  run: (data: z.output<Schema>, adminId: string, t: Translator) => Promise<Answer>,
) {
  return async (_previous: AdminActionState, formData: FormData): Promise<AdminActionState> => {
    const admin = await requireAdmin();
    const t = await getTranslations('admin.answers');
    const answer = await validatedAction(
      schema,
      (data) => run(data, admin.id, t),
      (message): Answer => ({ ok: false, message }),
    )({ ok: false, message: '' }, formData);
    if (answer.ok) revalidatePath('/admin', 'layout');
    return { status: answer.ok ? 'done' : 'refused', message: answer.message, key: randomUUID(), link: answer.link };
  };
}

const key = z.uuid({ error: formError('formOutOfDate') });

/**
 * A usecase's refusal in the admin's language, by its reason code; a reason without words here (a rare
 * operator-level one) shows the usecase's own message.
 */
function refusal(t: Translator, result: { reason: string; message: string } & Record<string, unknown>): string {
  const key = `refusals.${result.reason}` as 'refusals.unknown_user';
  const values = Object.fromEntries(Object.entries(result).filter(([, v]) => typeof v === 'string' || typeof v === 'number'));
  return t.has(key) ? t(key, values as never) : result.message;
}

const adjustSchema = z.object({
  key,
  userId: z.string().min(1).max(255),
  delta: z.coerce
    .number({ error: formError('wholeCredits') })
    .int(formError('wholeCredits'))
    .refine((n) => n !== 0, formError('nonZeroCredits'))
    .refine((n) => Math.abs(n) <= MAX_CREDITS, formError('tooManyCredits')),
  reason: z.string().trim().min(1, formError('adjustReason')).max(500),
  category: z.enum(creditCategories).default('promotional'),
  validityDays: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(1).max(36_500).optional()),
});

/** Adjust credits (user page): + gives a batch, − takes back in burn-down order, never below zero. */
export const adjustCreditsAction = adminAction(adjustSchema, async (data, adminUserId, t): Promise<Answer> => {
  const result = await adminAdjustCredits(await getDb(), { adminUserId, ...data, idempotencyKey: data.key });
  if (!result.ok) return { ok: false, message: refusal(t, result) };
  return {
    ok: true,
    message: t('adjusted', {
      replayed: String(result.replayed),
      direction: data.delta > 0 ? 'give' : 'take',
      amount: Math.abs(data.delta),
      known: String(result.balanceAfter !== null),
      balance: result.balanceAfter ?? 0,
    }),
  };
});

const runSchema = z.object({ key, job: z.enum(jobNames as [string, ...string[]]), dryRun: z.enum(['true', 'false']) });

/** Run now / dry run (jobs page): one call of the job, as its route would make it. */
export const runJobAction = adminAction(runSchema, async (data, adminUserId, t) =>
  describeRun(
    t,
    await adminRunJob(await getDb(), {
      adminUserId,
      job: data.job as (typeof jobNames)[number],
      dryRun: data.dryRun === 'true',
      idempotencyKey: data.key,
      ...budget(),
    }),
  ),
);

const continueSchema = z.object({ key, runId: z.string().min(1).max(100) });

/** Continue (run page): the same job and query, from where a run that answered hasMore stopped. */
export const continueRunAction = adminAction(continueSchema, async (data, adminUserId, t) =>
  describeRun(t, await adminRunJob(await getDb(), { adminUserId, continueRunId: data.runId, idempotencyKey: data.key, ...budget() })),
);

function budget() {
  const { CRON_TIME_BUDGET_MS, CREDITS_CHUNK_SIZE } = env();
  return { timeBudgetMs: CRON_TIME_BUDGET_MS, chunkSize: CREDITS_CHUNK_SIZE };
}

function describeRun(t: Translator, result: Awaited<ReturnType<typeof adminRunJob>>): Answer {
  if (!result.ok) {
    const runId = 'jobRunId' in result ? result.jobRunId : 'runningRunId' in result ? result.runningRunId : null;
    return { ok: false, message: refusal(t, result), link: runId ? { href: `/admin/jobs/${runId}`, label: t('openRun') } : undefined };
  }
  return {
    ok: true,
    message: t('ran', { replayed: String(result.replayed), dryRun: String(result.dryRun), hasMore: String(result.hasMore) }),
    link: { href: `/admin/jobs/${result.jobRunId}`, label: t('openRun') },
  };
}

const voidSchema = z.object({
  key,
  runId: z.string().min(1).max(100),
  reason: z.string().trim().min(1, formError('voidReason')).max(500),
  confirm: z.literal('yes', { error: formError('confirmVoid') }),
});

/** Void (run page, after its preview): takes back what the run granted and nobody spent. */
export const voidRunAction = adminAction(voidSchema, async (data, adminUserId, t): Promise<Answer> => {
  const result = await adminVoidJobRun(await getDb(), {
    adminUserId,
    jobRunId: data.runId,
    reason: data.reason,
    idempotencyKey: data.key,
    chunkSize: env().CREDITS_CHUNK_SIZE,
  });
  if (!result.ok) return { ok: false, message: refusal(t, result) };
  const { voidedAmount, batches, users } = result.results;
  return { ok: true, message: t('voided', { replayed: String(result.replayed), credits: voidedAmount, batches, users }) };
});

const banSchema = z.object({
  key,
  userId: z.string().min(1).max(255),
  banned: z.enum(['true', 'false']),
  reason: z.string().trim().max(500).optional(),
});

/** Ban / unban (user page), through the auth plugin. */
export const setBannedAction = adminAction(banSchema, async (data, adminUserId, t): Promise<Answer> => {
  const banned = data.banned === 'true';
  const result = await adminSetUserBanned(await getDb(), {
    adminUserId,
    userId: data.userId,
    banned,
    reason: data.reason,
    auth: await getAuth(),
    headers: await headers(),
    idempotencyKey: data.key,
  });
  if (!result.ok) return { ok: false, message: refusal(t, result) };
  return { ok: true, message: t('banned', { replayed: String(result.replayed), banned: String(banned) }) };
});

const roleSchema = z.object({ key, userId: z.string().min(1).max(255), role: z.enum(userRoles) });

/** Make admin / remove admin (user page). */
export const setRoleAction = adminAction(roleSchema, async (data, adminUserId, t): Promise<Answer> => {
  const result = await adminSetUserRole(await getDb(), { adminUserId, userId: data.userId, role: data.role, idempotencyKey: data.key });
  if (!result.ok) return { ok: false, message: refusal(t, result) };
  return { ok: true, message: t('role', { replayed: String(result.replayed), role: result.role }) };
});
