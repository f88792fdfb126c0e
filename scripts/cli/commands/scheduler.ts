// credits scheduler — a cron for self-hosted deployments (a VPS, a container): fires the schedules of
// vercel.json in UTC and calls the app's cron routes over HTTP. See docs/operations.md.
import path from 'node:path';
import { Command, Option } from 'commander';
import { jobNames } from '@/lib/server/jobs/catalog';
import { checkedEnv } from '../../lib/cli';
import { checkTarget, createScheduler, cronAuthorization, httpCaller, loadCronEntries, systemClock } from '../../lib/scheduler';
import { createOutput, exitCodes, fail, usageError } from '../io';
import { wholeNumber } from '../options';
import { readOnly } from './read-only';

type SchedulerOptions = { config?: string; list?: boolean; runNow?: string; maxCalls: number; timeout: number; json?: boolean };

export function schedulerCommand(program: Command) {
  return readOnly(
    program
      .command('scheduler')
      .description(
        'run until stopped: fire the "crons" of vercel.json in UTC and call the app at APP_URL with CRON_SECRET (Bearer) or ' +
          'CRON_JOBS_USERNAME/PASSWORD (Basic), again while a route answers hasMore. Checks /api/cron/health at start-up (exit 3 if the ' +
          'app is unreachable or refuses the credentials). Never opens the database.',
      )
      .option('--config <file>', 'the vercel.json to read', 'vercel.json')
      .option('--list', "print each job's schedule and next run, then exit")
      .addOption(new Option('--run-now <job>', 'run one job at once, then exit (exit 1 if a call failed)').choices(jobNames))
      .option('--max-calls <n>', 'calls per run while hasMore', wholeNumber(1), 100)
      .option('--timeout <sec>', "per HTTP call (keep it above the route's maxDuration)", wholeNumber(1, 3_600), 300)
      .option('--json', 'with --list or --run-now: print the result as one JSON document on stdout'),
  ).action(runScheduler);
}

async function runScheduler(o: SchedulerOptions) {
  if (o.json && !o.list && !o.runNow) usageError('--json applies to --list and --run-now (the running scheduler prints log lines)');
  const out = createOutput(o.json ?? false);
  const entries = loadCronEntries(path.resolve(o.config ?? 'vercel.json'));
  const config = checkedEnv();
  const authorization = cronAuthorization(config);
  const scheduler = createScheduler({
    entries,
    clock: systemClock,
    maxCalls: o.maxCalls,
    log: out.progress,
    call: httpCaller({ baseUrl: config.APP_URL, authorization: authorization ?? '', timeoutMs: o.timeout * 1_000 }),
  });

  if (o.list) {
    const upcoming = scheduler.upcoming();
    return out.result(
      upcoming.map((u) => ({ ...u, path: entries.find((e) => e.name === u.name)!.path, next: u.next?.toISOString() ?? null })),
      () => {
        for (const job of entries) {
          const next = upcoming.find((u) => u.name === job.name)?.next;
          out.line(`${job.name.padEnd(20)} ${job.schedule.padEnd(12)} ${job.path.padEnd(32)} next: ${next?.toISOString() ?? 'never'}`);
        }
      },
    );
  }
  if (!authorization) {
    fail(
      'Set CRON_SECRET (or CRON_JOBS_USERNAME and CRON_JOBS_PASSWORD) to the values the app uses: the scheduler calls its routes with them',
      exitCodes.cannotRun,
    );
  }
  const target = await checkTarget({ baseUrl: config.APP_URL, authorization: authorization!, timeoutMs: 10_000 });
  if (!target.ok) fail(target.message, exitCodes.cannotRun);
  else out.progress(`[scheduler] ${config.APP_URL} answers the health check with the scheduler's credentials: ${target.status}`);

  if (o.runNow) {
    const report = (await scheduler.runNow(o.runNow))!;
    out.result(report);
    if (!report.ok) fail(`${o.runNow}: a call failed (see the lines above)`);
    return;
  }

  scheduler.start();
  out.progress(`[scheduler] calling ${config.APP_URL} (${authorization!.split(' ')[0]} auth); times are UTC`);
  for (const u of scheduler.upcoming())
    out.progress(`[scheduler] ${u.name.padEnd(20)} ${u.schedule.padEnd(12)} next run ${u.next?.toISOString() ?? 'never'}`);
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      out.progress(`[scheduler] ${signal}: waiting for runs in progress, then exiting`);
      void scheduler.stop().then(resolve);
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
}
