// credits jobs <job> — runs a credits job by hand through its registry entry, exactly as its route
// does (job runs recorded with trigger `cli`), calling again while work remains. One subcommand per
// job of the registry; its flags are the keys of the job's route query, parsed by the same schema.
import { Command, Option } from 'commander';
import { env } from '@/env';
import { JobFailedError } from '@/lib/server/credits/job-runner';
import { utcDateKey } from '@/lib/server/credits/time';
import { jobCatalog, jobNames } from '@/lib/server/jobs/catalog';
import { jobs, type JobDefinition, type JobPreview } from '@/lib/server/jobs/registry';
import type { JobName } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { backfillInstant } from '@/lib/server/usecases/grant-monthly-credits';
import { withDatabase } from '../database';
import { createOutput, describeError, fail, usageError, type Output } from '../io';
import { wholeNumber } from '../options';
import { printTable } from '../../lib/table';

type QueryKey = { [J in JobName]: keyof (typeof jobs)[J]['query']['shape'] }[JobName];

/**
 * Every key any job's route query has, as a flag. A job gets the flags of its own query only, so a
 * flag of another job is an unknown option for it; a new query key does not compile until it is described here.
 */
const queryFlags: Record<QueryKey, { flag: string; help: string; boolean?: true }> = {
  limit: {
    flag: '--limit <n>',
    help: 'per call: items looked at (users for grant and expiring-soon, due batches for expire, schedules for subscription-grants); clamped like the route',
  },
  catchUp: { flag: '--catch-up <n>', help: 'installments per schedule per call (clamped to 1…36; default 12)' },
  dryRun: {
    flag: '--dry-run',
    boolean: true,
    help: 'do the work in transactions that are rolled back and report it; only the job-run row is written. Always one call.',
  },
};

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

type JobsOptions = { once?: boolean; maxCalls: number; date?: string; json?: boolean } & Partial<Record<QueryKey, string | boolean>>;

export function jobsCommand(program: Command) {
  const group = program
    .command('jobs')
    .description('run a credits job by hand, as its cron route does')
    .addHelpText('after', `\nJobs:\n${jobNames.map((job) => `  ${job.padEnd(22)}${jobCatalog[job].description}`).join('\n')}`);
  for (const name of jobNames) {
    const job = jobs[name] as JobDefinition;
    const command = group.command(name).description(jobCatalog[name].description);
    for (const key of Object.keys(job.query.shape) as QueryKey[]) {
      const { flag, help } = queryFlags[key];
      command.option(flag, help);
    }
    // A backfill is the grant job's alone: the other jobs catch up by themselves (see docs/operations.md).
    if (name === 'grant') {
      command.option(
        '--date <YYYY-MM-DD>',
        'reproduce the run of that past UTC day: as of its end, for the users and plans of that day (refused before the first user)',
      );
    }
    command
      .option('--once', 'make one call only, even when work remains')
      .addOption(new Option('--max-calls <n>', 'give up after N calls').default(1000).argParser(wholeNumber(1)))
      .option('--json', 'print the summary as one JSON document on stdout (progress on stderr)')
      .action((options: JobsOptions) => runJobCommand(name, job, options));
  }
  return group;
}

/** The query a route would have parsed from the same flags: same schema, same clamping, same messages. */
function queryFrom(job: JobDefinition, options: JobsOptions) {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(job.query.shape) as QueryKey[]) {
    const value = options[key];
    if (value !== undefined) raw[key] = String(value);
  }
  const parsed = job.query.strict().safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    usageError(`--${kebab(String(issue.path[0] ?? ''))} ${issue.message}`);
  }
  return parsed.data as { limit?: number; dryRun?: boolean };
}

type CallOutcome = { jobId: string; hasMore: boolean; counts: Record<string, number>; response: Record<string, unknown> };

async function runJobCommand(name: JobName, job: JobDefinition, options: JobsOptions) {
  const out = createOutput(options.json ?? false);
  const query = queryFrom(job, options);
  const dryRun = query.dryRun ?? false;
  const started = Date.now();
  const summary = await withDatabase(async (db) => {
    let now: Date | undefined;
    if (options.date !== undefined) {
      const instant = await backfillInstant(db, { date: options.date, now: new Date() });
      if (!instant.ok) usageError(`--date ${instant.message}`);
      else now = instant.asOf;
      out.progress(`Backfill: running the grant job as of ${now!.toISOString()}, for the users and plans of that day`);
    }
    return callUntilDone(db, { name, job, query, now, backfill: now !== undefined, dryRun, options, out });
  });
  const failedRows = summary.totals.failed ?? 0;
  const success = summary.failedCall === null && failedRows === 0;
  const result = {
    success,
    job: name,
    ...(name === 'grant' ? { date: utcDateKey(summary.now ?? new Date()) } : {}),
    dryRun,
    calls: summary.calls,
    jobIds: summary.jobIds,
    duration: Date.now() - started,
    results: summary.totals,
    hasMore: summary.hasMore,
    ...(summary.preview ? { preview: summary.preview.rows } : {}),
    ...(summary.failedCall ? { error: summary.failedCall } : {}),
  };
  out.result(result, () => {
    const counts = Object.entries(summary.totals)
      .map(([key, value]) => `${key} ${value}`)
      .join(', ');
    out.line(
      `${success ? '✔' : '✖'} ${name}${dryRun ? ' (dry run)' : ''}: ${summary.calls} call(s), ${counts}${summary.hasMore ? '; work remains' : ''}`,
    );
    out.line(`  job runs: ${summary.jobIds.join(' ')}`);
    if (summary.preview) {
      const { what, total, rows } = summary.preview;
      out.line(`  ${rows.length < total ? `the first ${rows.length} of ${total}` : `all ${total}`} ${what}:`);
      printTable(rows, out.line);
    }
  });
  if (!success) {
    if (failedRows > 0) fail(`${failedRows} row(s) failed: the log lines above name them; they stay due for the next run`);
    fail(summary.failedCall!);
  }
}

async function callUntilDone(
  db: Database,
  p: {
    name: JobName;
    job: JobDefinition;
    query: Record<string, unknown>;
    now: Date | undefined;
    backfill: boolean;
    dryRun: boolean;
    options: JobsOptions;
    out: Output;
  },
) {
  const { CRON_TIME_BUDGET_MS, CREDITS_CHUNK_SIZE } = env();
  const totals: Record<string, number> = {};
  const jobIds: string[] = [];
  let hasMore = false;
  let failedCall: string | null = null;
  let calls = 0;
  let preview: JobPreview | undefined;
  for (let call = 1; ; call++) {
    calls = call;
    const prefix = `[jobs ${p.name} call ${call}]`;
    let outcome: CallOutcome;
    let chunks = 0;
    try {
      const run = await p.job.run(db, {
        trigger: 'cli',
        now: p.now,
        backfill: p.backfill,
        timeBudgetMs: CRON_TIME_BUDGET_MS,
        chunkSize: CREDITS_CHUNK_SIZE,
        query: p.query,
        onChunk: (progress) => {
          chunks += 1;
          p.out.progress(
            `${prefix} ${Object.entries(progress)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`,
          );
        },
      });
      outcome = { jobId: run.jobId, hasMore: run.hasMore, counts: p.job.counts(run), response: p.job.respond(run).body };
      preview = p.job.preview(run, p.query) ?? preview;
    } catch (error) {
      const jobId = error instanceof JobFailedError ? ` (job run ${error.jobId})` : '';
      failedCall = `call ${call}${jobId} failed: ${describeError(error instanceof JobFailedError ? error.cause : error)}`;
      p.out.progress(`✖ ${failedCall}`);
      if (error instanceof JobFailedError && error.databaseUnavailable) throw new Error(failedCall, { cause: error.cause });
      break;
    }
    jobIds.push(outcome.jobId);
    for (const [key, value] of Object.entries(outcome.counts)) totals[key] = (totals[key] ?? 0) + value;
    hasMore = outcome.hasMore;
    p.out.progress(`${prefix} ${JSON.stringify(outcome.response)}`);
    if (!hasMore || p.options.once) break;
    if (p.dryRun) {
      p.out.progress('Dry run: one call only (a dry run does not resume). hasMore: true means a real run needs more calls.');
      break;
    }
    if (chunks === 0) {
      // Calling again would do the same nothing: the budget ends before the first chunk can start.
      failedCall = `call ${call} made no progress but reported more work: CRON_TIME_BUDGET_MS (${CRON_TIME_BUDGET_MS} ms) is too small to process one chunk`;
      p.out.progress(`✖ ${failedCall}`);
      break;
    }
    if (call >= p.options.maxCalls) {
      p.out.progress(`Stopping after ${call} calls (--max-calls); work remains: run the command again to continue.`);
      break;
    }
  }
  return { totals, jobIds, hasMore, failedCall, calls, now: p.now, preview };
}
