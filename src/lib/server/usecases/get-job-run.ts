import 'server-only';
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { jobRuns, type LedgerEntry } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { queryRows } from '@/lib/server/db/sql';
import { describeRun, type JobRunRow } from './list-job-runs';

const SAMPLE_SIZE = 10;

export type JobRunDetails = {
  run: JobRunRow;
  /** The ledger entries the run wrote: how many, the credits they moved, and the first few. */
  entries: {
    count: number;
    credits: number;
    sample: Pick<LedgerEntry, 'id' | 'userId' | 'kind' | 'delta' | 'balanceAfter' | 'operationKey' | 'createdAt'>[];
  };
  /** What voids of this run took back so far (every void, from the console or the CLI). */
  voided: { entries: number; users: number; credits: number };
};

/** One job run for the admin console: its row, the entries it wrote, what was voided of it; null when there is none. */
export async function getJobRun(db: Database, params: { jobRunId: string; now?: Date }): Promise<JobRunDetails | null> {
  if (!z.guid().safeParse(params.jobRunId).success) return null;
  const [run] = await db.select().from(jobRuns).where(eq(jobRuns.id, params.jobRunId));
  if (!run) return null;
  const id = run.id;
  // A grant run's entries are one `grant` per batch it created: found through the batches' index on
  // job_run_id. The ledger has no index by run (one would cost every job's inserts), so an expire run's
  // entries are read by a scan; its counts are also in its results.
  const written =
    run.job === 'expire'
      ? sql`select * from credit_ledger where job_run_id = ${id}::uuid`
      : sql`select l.* from credit_batches b join credit_ledger l on l.batch_id = b.id and l.kind = 'grant' where b.job_run_id = ${id}::uuid`;
  const [[totals], sample, [voided]] = await Promise.all([
    queryRows<{ count: number; credits: number }>(
      db,
      sql`select count(*)::int as count, coalesce(sum(delta), 0)::bigint as credits from (${written}) e`,
    ),
    queryRows<JobRunDetails['entries']['sample'][number]>(
      db,
      sql`select id, user_id as "userId", kind, delta, balance_after as "balanceAfter", operation_key as "operationKey", created_at as "createdAt"
            from (${written}) e order by id limit ${SAMPLE_SIZE}`,
    ),
    // The same reading as voidJobRun's own outcome.
    queryRows<{ entries: number; users: number; credits: number }>(
      db,
      sql`select count(*)::int as entries, count(distinct user_id)::int as users, coalesce(-sum(delta), 0)::bigint as credits
            from credit_ledger where kind = 'void' and metadata->>'voidedJobRunId' = ${id}`,
    ),
  ]);
  return {
    run: describeRun(run, params.now ?? new Date()),
    entries: {
      count: totals!.count,
      credits: Number(totals!.credits),
      sample: sample.map((e) => ({ ...e, delta: Number(e.delta), balanceAfter: Number(e.balanceAfter), createdAt: new Date(e.createdAt) })),
    },
    voided: { entries: voided!.entries, users: voided!.users, credits: Number(voided!.credits) },
  };
}
