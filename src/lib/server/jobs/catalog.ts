import type { JobName } from '@/lib/server/db/schema';
import type { GrantMonthlyCreditsResult } from '@/lib/server/usecases/grant-monthly-credits';
import type { ExpireCreditsResult } from '@/lib/server/usecases/expire-credits';
import type { ProcessDueSchedulesResult } from '@/lib/server/usecases/process-due-schedules';
import type { NotifyExpiringCreditsResult } from '@/lib/server/usecases/notify-expiring-credits';

/**
 * What each job is called and where it lives: its route and its log lines. The names themselves are
 * declared once, in the `job_runs.job` enum of the schema (the single source of types, and what every
 * run row stores); `satisfies Record<JobName, …>` makes a job missing here, or one the schema does not
 * know, a type error.
 *
 * This half has no runtime imports, so the job runner (which the usecases import), the scheduler and
 * the benchmark can read it without pulling in the usecases or the server. What runs a job (its query,
 * usecase and answer) is in `registry.ts`, which spreads these entries into its own.
 */
export type JobCatalogEntry<Results> = {
  /** The cron route's path, as `vercel.json` names it. */
  path: string;
  /** One line for usage texts (`npm run jobs -- --help`). */
  description: string;
  /** `[<label> <jobId>] Starting <what>` and `… Completed in …` (docs/cron.md quotes these lines). */
  log: { label: string; what: string };
  /** The counts in the `Completed` log line, from the results the job's `runJob` work returned. */
  summary: (results: Results) => string;
};

type ScheduleResults = Pick<ProcessDueSchedulesResult, 'processed' | 'schedulesTouched' | 'failed'>;

// The order is the order of every list of jobs (the health answer's keys, the CLI's usage lines).
export const jobCatalog = {
  grant: {
    path: '/api/jobs/credits/grant',
    description: 'monthly subscriptions, lifetime plans and free credits for the UTC day',
    log: { label: 'Credits Grant Job', what: 'daily grant process' },
    summary: (r: GrantMonthlyCreditsResult['results']) =>
      `Processed: ${r.processed}, Successful: ${r.successful}, Skipped: ${r.skipped}, Failed: ${r.failed}`,
  },
  expire: {
    path: '/api/jobs/credits/expire',
    description: 'holds whose time ran out are released, then batches whose expiry has come lose what is left of them',
    log: { label: 'Credits Expire Job', what: 'expiry process' },
    summary: (r: ExpireCreditsResult['results']) =>
      `Processed: ${r.processedBatches} batches, Users: ${r.processedUsers}, Expired: ${r.totalExpiredAmount}, Failed: ${r.failed}, Holds released: ${r.releasedHolds}`,
  },
  'subscription-grants': {
    path: '/api/cron/subscription-grants',
    description: 'installments of yearly (multi-installment) plans that are due',
    log: { label: 'Subscription Grants Job', what: 'installment process' },
    summary: (r: ScheduleResults) => `Processed: ${r.processed}, Schedules: ${r.schedulesTouched}, Failed: ${r.failed}`,
  },
  'expiring-soon': {
    path: '/api/jobs/credits/expiring-soon',
    description: 'mails users whose credits expire within the next days (src/config), once per batch',
    log: { label: 'Credits Expiring Soon Job', what: 'expiring-soon notices' },
    summary: (r: NotifyExpiringCreditsResult['results']) =>
      `Users: ${r.users}, Batches: ${r.batches}, Credits: ${r.credits}, Failed: ${r.failed}`,
  },
} satisfies { [J in JobName]: JobCatalogEntry<never> };

/** Every job, in the catalog's order. */
export const jobNames = Object.keys(jobCatalog) as JobName[];

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(jobCatalog, name);
}

/** The job whose route is `path` (a query string is ignored), or null. */
export function jobForPath(path: string): JobName | null {
  const bare = path.split('?')[0];
  return jobNames.find((job) => jobCatalog[job].path === bare) ?? null;
}

/** `grant, expire, subscription-grants or expiring-soon`, for usage lines. */
export const jobNamesInWords = `${jobNames.slice(0, -1).join(', ')} or ${jobNames[jobNames.length - 1]}`;
