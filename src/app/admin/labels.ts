import type { AdminAction, JobRun } from '@/lib/server/db/schema';
import { kindLabels } from '@/app/credits/labels';

/**
 * A ledger kind in words. Kinds added after this page was written (credit holds: `reserve`, `release`…)
 * show as their own name instead of breaking the page.
 */
export function ledgerKindLabel(kind: string): string {
  return (kindLabels as Record<string, string>)[kind] ?? kind;
}

export const actionLabels: Record<AdminAction, string> = {
  adjust_credits: 'Adjust credits',
  void_job_run: 'Void a run',
  run_job: 'Run a job',
  ban_user: 'Ban',
  unban_user: 'Unban',
  set_role: 'Change role',
};

export const runStatusLabels: Record<JobRun['status'], string> = { running: 'running', succeeded: 'succeeded', failed: 'failed' };

/** A recorded outcome in a few words: done, refused with its reason, or still running. */
export function describeOutcome(outcome: Record<string, unknown> | null): string {
  if (outcome === null) return 'in progress (or its process died)';
  if (outcome.ok) return 'done';
  const message = typeof outcome.message === 'string' ? `: ${outcome.message}` : '';
  return `refused (${String(outcome.reason)})${message}`;
}

/** The numbers of a run's results (`processed=3 failed=0`), without a per-schedule list. */
export function countsOf(results: Record<string, unknown> | null): string {
  if (!results) return '';
  return Object.entries(results)
    .filter(([, value]) => typeof value === 'number')
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
}
