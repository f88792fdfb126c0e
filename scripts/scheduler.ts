// npm run scheduler — a cron for self-hosted deployments (a VPS, a container): fires the schedules of
// vercel.json in UTC and calls the app's cron routes over HTTP. See docs/operations.md.
import path from 'node:path';
import { env, EnvError } from '@/env';
import { fail, loadEnvFiles, runMain } from './lib/cli';
import { intOption, parseCommandLine, usageError } from './lib/args';
import { createScheduler, cronAuthorization, httpCaller, loadCronEntries, systemClock } from './lib/scheduler';

const HELP = `
Usage: npm run scheduler [-- options]

Runs until stopped (Ctrl-C, SIGTERM). Reads the "crons" of vercel.json, fires each at its time in
UTC, and calls the route at APP_URL with CRON_SECRET (Bearer) or CRON_JOBS_USERNAME/PASSWORD
(Basic). While a route answers hasMore: true it calls again at once. A job never overlaps itself:
when its next time comes while the previous run is still going, that time is skipped and logged.
The app must be running (npm start, or npm run dev); the scheduler never opens the database.

Options:
  --config FILE     the vercel.json to read (default ./vercel.json)
  --list            print each job's schedule and next run times, then exit
  --run-now JOB     run one job at once (grant, expire, subscription-grants), then exit;
                    exit code 1 if a call failed
  --max-calls N     calls per run while hasMore (default 100)
  --timeout SEC     per HTTP call (default 300; keep it above the route's maxDuration)
  -h, --help        this help
`;

runMain(async () => {
  const { values, positionals } = parseCommandLine(
    {
      config: { type: 'string' },
      list: { type: 'boolean' },
      'run-now': { type: 'string' },
      'max-calls': { type: 'string' },
      timeout: { type: 'string' },
    },
    HELP,
  );
  if (positionals.length > 0) usageError(`Unexpected argument "${positionals[0]}"`);
  const maxCalls = intOption(values['max-calls'], 'max-calls') ?? 100;
  const timeoutMs = (intOption(values.timeout, 'timeout', { max: 3_600 }) ?? 300) * 1_000;
  const entries = loadCronEntries(path.resolve(values.config ?? 'vercel.json'));
  loadEnvFiles();
  let config;
  try {
    config = env();
  } catch (error) {
    if (error instanceof EnvError) fail(error.message);
    throw error;
  }
  const authorization = cronAuthorization(config);
  const log = (line: string) => console.log(line);
  const scheduler = createScheduler({
    entries,
    clock: systemClock,
    maxCalls,
    log,
    call: httpCaller({ baseUrl: config.APP_URL, authorization: authorization ?? '', timeoutMs }),
  });

  if (values.list) {
    for (const job of entries) {
      const next = scheduler.upcoming().find((u) => u.name === job.name)?.next;
      console.log(`${job.name.padEnd(20)} ${job.schedule.padEnd(12)} ${job.path.padEnd(32)} next: ${next?.toISOString() ?? 'never'}`);
    }
    return;
  }
  if (!authorization) {
    fail(
      'Set CRON_SECRET (or CRON_JOBS_USERNAME and CRON_JOBS_PASSWORD) to the values the app uses: the scheduler calls its routes with them',
    );
  }
  if (values['run-now']) {
    const report = await scheduler.runNow(values['run-now'])!;
    if (!report.ok) process.exit(1);
    return;
  }

  scheduler.start();
  log(`[scheduler] calling ${config.APP_URL} (${authorization.split(' ')[0]} auth); times are UTC`);
  for (const u of scheduler.upcoming())
    log(`[scheduler] ${u.name.padEnd(20)} ${u.schedule.padEnd(12)} next run ${u.next?.toISOString() ?? 'never'}`);
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log(`[scheduler] ${signal}: waiting for runs in progress, then exiting`);
      void scheduler.stop().then(resolve);
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
});
