// npm run jobs -- <grant|expire|subscription-grants> [options]
// Runs a credits job through its registry entry, as the cron routes do (job runs recorded with trigger
// `cli`), calling again while work remains. Progress goes to stderr, the final JSON to stdout.
import { env } from '@/env';
import { JobFailedError } from '@/lib/server/credits/job-runner';
import { addUtcDays, utcDateKey } from '@/lib/server/credits/time';
import { isJobName, jobCatalog, jobNames, jobNamesInWords } from '@/lib/server/jobs/catalog';
import { jobs, type JobDefinition } from '@/lib/server/jobs/registry';
import type { JobName } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { openDatabaseForScript, runMain } from './lib/cli';
import { conciseErrorLogs, describeError, intOption, logsToStderr, parseCommandLine, usageError } from './lib/args';

const HELP = `
Usage: npm run jobs -- <${jobNames.join('|')}> [options]

Runs a credits job by hand, exactly as the cron routes do, and keeps calling while the job
answers hasMore: true. Each call is a job run (trigger "cli"): see npm run credits:inspect -- runs.

Jobs:
${jobNames.map((job) => `  ${job.padEnd(22)}${jobCatalog[job].description}`).join('\n')}

Options:
  --limit N             per call: users (grant), batches (expire), schedules (subscription-grants,
                        clamped to 1…500 as the route does; default 50)
  --catch-up N          subscription-grants: installments per schedule per call (clamped to 1…36; default 12)
  --date YYYY-MM-DD     grant only: backfill that UTC day. The job runs as of the end of that day
                        (23:59:59.999 UTC), or as of now for today. Future dates are refused.
  --dry-run             report what a real call would do and write nothing but the job-run row
                        (a dry run is always a single call: it does not resume)
  --once                make one call only, even when work remains
  --max-calls N         give up after N calls (default 1000)
  -h, --help            this help

Exit code: 0 when every call succeeded and no row failed; 1 otherwise; 2 for bad arguments.
Examples:
  npm run jobs -- grant
  npm run jobs -- grant --date 2026-03-14
  npm run jobs -- subscription-grants --limit 100 --catch-up 36
  npm run jobs -- expire --dry-run | jq .results
`;

type CallOutcome = { jobId: string; hasMore: boolean; counts: Record<string, number>; response: Record<string, unknown> };

const clamp = (n: number | undefined, min: number, max: number) => (n === undefined ? undefined : Math.min(max, Math.max(min, n)));

/** The instant a grant backfill of `date` runs as of: the end of that UTC day, or now for today. */
function backfillInstant(date: string, now: Date): Date {
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(date) ||
    Number.isNaN(Date.parse(`${date}T00:00:00Z`)) ||
    utcDateKey(new Date(`${date}T00:00:00Z`)) !== date
  ) {
    usageError(`--date must be a calendar date as YYYY-MM-DD, got "${date}"`);
  }
  const today = utcDateKey(now);
  if (date > today) usageError(`--date ${date} is in the future (today is ${today} UTC): a grant cannot run ahead of time`);
  if (date === today) return now;
  return new Date(addUtcDays(new Date(`${date}T00:00:00Z`), 1).getTime() - 1);
}

function parse() {
  const { values, positionals } = parseCommandLine(
    {
      limit: { type: 'string' },
      'catch-up': { type: 'string' },
      date: { type: 'string' },
      'dry-run': { type: 'boolean' },
      once: { type: 'boolean' },
      'max-calls': { type: 'string' },
    },
    HELP,
  );
  const name = positionals[0];
  if (!name) usageError(`Name a job: ${jobNamesInWords}`);
  if (!isJobName(name)) usageError(`Unknown job "${name}" (${jobNamesInWords})`);
  const job: JobName = name;
  if (positionals.length > 1) usageError(`Unexpected argument "${positionals[1]}"`);
  if (values.date !== undefined && job !== 'grant') usageError('--date applies to the grant job only');
  if (values['catch-up'] !== undefined && job !== 'subscription-grants') usageError('--catch-up applies to subscription-grants only');
  const limit = intOption(values.limit, 'limit', { min: job === 'subscription-grants' ? -Infinity : 1 });
  const catchUp = intOption(values['catch-up'], 'catch-up', { min: -Infinity });
  return {
    job,
    limit: job === 'subscription-grants' ? clamp(limit, 1, 500) : limit,
    catchUp: clamp(catchUp, 1, 36),
    now: values.date === undefined ? undefined : backfillInstant(values.date, new Date()),
    dryRun: values['dry-run'] ?? false,
    once: values.once ?? false,
    maxCalls: intOption(values['max-calls'], 'max-calls') ?? 1000,
  };
}

type Options = ReturnType<typeof parse>;

/** One call, through the job's registry entry: the same usecase call and the same answer as its route. */
async function callOnce(db: Database, o: Options, onChunk: (progress: Record<string, number>) => void): Promise<CallOutcome> {
  const { CRON_TIME_BUDGET_MS, CREDITS_CHUNK_SIZE } = env();
  const job = jobs[o.job] as JobDefinition;
  const run = await job.run(db, {
    trigger: 'cli',
    now: o.now,
    onChunk,
    timeBudgetMs: CRON_TIME_BUDGET_MS,
    chunkSize: CREDITS_CHUNK_SIZE,
    query: { limit: o.limit, dryRun: o.dryRun, ...(o.job === 'subscription-grants' ? { catchUp: o.catchUp } : {}) },
  });
  return { jobId: run.jobId, hasMore: run.hasMore, counts: job.counts(run), response: job.respond(run).body };
}

runMain(async () => {
  const options = parse();
  logsToStderr();
  conciseErrorLogs();
  const handle = await openDatabaseForScript();
  const started = Date.now();
  const totals: Record<string, number> = {};
  const jobIds: string[] = [];
  let hasMore = false;
  let failedCall: string | null = null;
  let calls = 0;
  try {
    if (options.now) console.error(`Backfill: running the grant job as of ${options.now.toISOString()}`);
    for (let call = 1; ; call++) {
      calls = call;
      const prefix = `[jobs ${options.job} call ${call}]`;
      let outcome: CallOutcome;
      let chunks = 0;
      try {
        outcome = await callOnce(handle.db, options, (progress) => {
          chunks += 1;
          console.error(
            `${prefix} ${Object.entries(progress)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`,
          );
        });
      } catch (error) {
        const jobId = error instanceof JobFailedError ? ` (job run ${error.jobId})` : '';
        failedCall = `call ${call}${jobId} failed: ${describeError(error instanceof JobFailedError ? error.cause : error)}`;
        console.error(`✖ ${failedCall}`);
        break;
      }
      jobIds.push(outcome.jobId);
      for (const [key, value] of Object.entries(outcome.counts)) totals[key] = (totals[key] ?? 0) + value;
      hasMore = outcome.hasMore;
      console.error(`${prefix} ${JSON.stringify(outcome.response)}`);
      if (!hasMore || options.once) break;
      if (chunks === 0 && !options.dryRun) {
        // Calling again would do the same nothing: the budget ends before the first chunk can start.
        failedCall = `call ${call} made no progress but reported more work: CRON_TIME_BUDGET_MS (${env().CRON_TIME_BUDGET_MS} ms) is too small to process one chunk`;
        console.error(`✖ ${failedCall}`);
        break;
      }
      if (options.dryRun) {
        console.error('Dry run: one call only (a dry run does not resume). hasMore: true means a real run needs more calls.');
        break;
      }
      if (call >= options.maxCalls) {
        console.error(`Stopping after ${call} calls (--max-calls); work remains: run the command again to continue.`);
        break;
      }
    }
  } finally {
    await handle.close();
  }
  const failedRows = totals.failed ?? 0;
  const success = failedCall === null && failedRows === 0;
  const summary = {
    success,
    job: options.job,
    ...(options.job === 'grant' ? { date: utcDateKey(options.now ?? new Date()) } : {}),
    dryRun: options.dryRun,
    calls,
    jobIds,
    duration: Date.now() - started,
    results: totals,
    hasMore,
    ...(failedCall ? { error: failedCall } : {}),
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (!success) {
    if (failedRows > 0)
      console.error(`✖ ${failedRows} row(s) failed: the server log lines above name them; they stay due for the next run.`);
    process.exit(1);
  }
});
