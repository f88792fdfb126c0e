import 'server-only';
import { z } from 'zod';
import type { Database } from '@/lib/server/db/types';
import { auditedAdminAction, type Audited } from '@/lib/server/admin/audit';
import { voidJobRun, type VoidJobRunResult } from './void-job-run';

export type AdminVoidJobRunParams = {
  adminUserId: string;
  jobRunId: string;
  reason: string;
  /** The key the console's confirm form was rendered with. */
  idempotencyKey: string;
  chunkSize?: number;
  now?: Date;
};

type Voided = Extract<VoidJobRunResult, { ok: true }>;

/** `alreadyVoided`: an earlier void had taken everything; `results` are what every void of the run took. */
export type AdminVoidOutcome =
  Exclude<VoidJobRunResult, { ok: true }> | (Pick<Voided, 'ok' | 'jobRunId' | 'job' | 'results'> & { alreadyVoided: boolean });

/**
 * An admin's void of a job run from the console, after its preview (`voidJobRun` with `dryRun`): takes
 * back what the run granted and nobody has spent, naming the admin (`actor: admin:{email}`) and the
 * reason in each `void` entry, and records it. A running run is refused (`run_in_progress`), never forced
 * from the console. Voiding twice takes nothing more (the outcome says `replayed`).
 */
export async function adminVoidJobRun(db: Database, params: AdminVoidJobRunParams): Promise<Audited<AdminVoidOutcome>> {
  const now = params.now ?? new Date();
  const jobRunId = z.guid().safeParse(params.jobRunId).success ? params.jobRunId.toLowerCase() : null;
  return auditedAdminAction<AdminVoidOutcome>(
    db,
    {
      adminUserId: params.adminUserId,
      action: 'void_job_run',
      targetJobRunId: jobRunId,
      params: { jobRunId: params.jobRunId, reason: params.reason.trim() },
      idempotencyKey: params.idempotencyKey,
      now,
      // Users are voided a chunk per transaction, as the jobs write them: the key is claimed first.
      atomic: false,
    },
    async (db, admin) => {
      const result = await voidJobRun(db, {
        jobRunId: params.jobRunId,
        reason: params.reason.trim() || undefined,
        actor: `admin:${admin.email}`,
        chunkSize: params.chunkSize,
        now,
      });
      if (!result.ok) return result;
      return { ok: true, jobRunId: result.jobRunId, job: result.job, alreadyVoided: result.replayed, results: result.results };
    },
  );
}
