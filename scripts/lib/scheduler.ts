// The self-hosted scheduler's core: cron schedules (croner, in UTC) → a call of the job's route,
// again while it answers hasMore, never two runs of the same job at once. The clock and the caller
// are injected, so tests drive it with a fake clock and a fake caller.
import { readFileSync } from 'node:fs';
import { Cron } from 'croner';
import { z } from 'zod';
import { jobForPath } from '@/lib/server/jobs/catalog';

export type CronEntry = { name: string; path: string; schedule: string };

export type Clock = {
  now(): Date;
  /** Calls `fn` at `at` (at once if it has passed); returns a function that cancels the timer. */
  setTimer(at: Date, fn: () => void): () => void;
};

/** One HTTP call of a job's route, as the scheduler sees it. */
export type CallResult = { ok: boolean; status: number | null; hasMore: boolean; summary: string };
export type Caller = (entry: CronEntry) => Promise<CallResult>;

export type RunReport = { job: string; scheduledAt: Date; calls: number; ok: boolean; hasMore: boolean; durationMs: number };

export type SchedulerOptions = {
  entries: CronEntry[];
  clock: Clock;
  call: Caller;
  log?: (line: string) => void;
  /** Calls per run while the route answers hasMore (a safety net against a route that never finishes). */
  maxCalls?: number;
};

const vercelJson = z.object({
  crons: z.array(z.object({ path: z.string().startsWith('/'), schedule: z.string().min(1) })).min(1),
});

/** Reads the cron entries of a `vercel.json`; throws one clear message when it is missing or wrong. */
export function loadCronEntries(file: string): CronEntry[] {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`Cannot read ${file}: the scheduler takes its schedules from the "crons" of vercel.json`);
  }
  let parsed;
  try {
    parsed = vercelJson.parse(JSON.parse(raw));
  } catch (error) {
    throw new Error(`${file} has no valid "crons" list (${error instanceof z.ZodError ? error.issues[0]?.message : 'not JSON'})`);
  }
  return parsed.crons.map((cron) => {
    // Named by the job registry's catalog in log lines; a path it does not know keeps its path as its name.
    const entry = { name: jobForPath(cron.path) ?? cron.path, path: cron.path, schedule: cron.schedule };
    cronFor(entry); // refuse a bad expression at start-up, not at 01:00
    return entry;
  });
}

function cronFor(entry: CronEntry): Cron {
  try {
    // No callback: croner only computes the times; the scheduler's own clock fires them. A day of month
    // and a day of week both given match either one (OR), as in Vixie cron and Vercel Cron: croner's
    // default since 10, said here because croner 9 spelt it `legacyMode: true`.
    return new Cron(entry.schedule, { timezone: 'UTC', domAndDow: false });
  } catch (error) {
    throw new Error(`Invalid schedule "${entry.schedule}" for ${entry.path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function createScheduler(options: SchedulerOptions) {
  const { clock, call } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const maxCalls = options.maxCalls ?? 100;
  const jobs = options.entries.map((entry) => ({
    entry,
    cron: cronFor(entry),
    next: null as Date | null,
    cancel: null as (() => void) | null,
    running: null as { since: Date; done: Promise<RunReport> } | null,
  }));
  type Job = (typeof jobs)[number];
  let started = false;
  const stamp = () => clock.now().toISOString();

  function arm(job: Job, after: Date) {
    // From the later of the slot that just fired and the clock: a timer that fires late (or a machine
    // that slept) does not fire the missed slots one after another.
    const from = new Date(Math.max(after.getTime(), clock.now().getTime()));
    const next = job.cron.nextRun(from);
    job.next = next;
    job.cancel = next ? clock.setTimer(next, () => fire(job, next)) : null;
  }

  function fire(job: Job, slot: Date) {
    if (!started) return;
    arm(job, slot);
    if (job.running) {
      log(
        `[scheduler ${stamp()}] ${job.entry.name}: skipped the ${slot.toISOString()} run: the run started at ${job.running.since.toISOString()} is still going`,
      );
      return;
    }
    void startRun(job, slot);
  }

  function startRun(job: Job, slot: Date): Promise<RunReport> {
    const since = clock.now();
    const done = execute(job, slot).finally(() => {
      job.running = null;
    });
    job.running = { since, done };
    return done;
  }

  async function execute(job: Job, slot: Date): Promise<RunReport> {
    const { name, path } = job.entry;
    const startedAt = clock.now().getTime();
    log(`[scheduler ${stamp()}] ${name}: run started (scheduled ${slot.toISOString()}, GET ${path})`);
    let calls = 0;
    let ok = true;
    let hasMore = false;
    for (;;) {
      calls += 1;
      let result: CallResult;
      try {
        result = await call(job.entry);
      } catch (error) {
        result = { ok: false, status: null, hasMore: false, summary: error instanceof Error ? error.message : String(error) };
      }
      hasMore = result.ok && result.hasMore;
      log(
        `[scheduler ${stamp()}] ${name}: call ${calls} → ${result.status ?? 'no response'} ${result.summary}${hasMore ? ' (hasMore: calling again)' : ''}`,
      );
      if (!result.ok) {
        ok = false;
        break;
      }
      if (!hasMore) break;
      if (calls >= maxCalls) {
        log(`[scheduler ${stamp()}] ${name}: stopping after ${calls} calls; the next scheduled run continues`);
        break;
      }
    }
    const durationMs = clock.now().getTime() - startedAt;
    log(`[scheduler ${stamp()}] ${name}: run ${ok ? 'finished' : 'FAILED'} in ${durationMs}ms after ${calls} call(s)`);
    return { job: name, scheduledAt: slot, calls, ok, hasMore, durationMs };
  }

  return {
    /** Arms every job's next run. */
    start() {
      if (started) return;
      started = true;
      for (const job of jobs) arm(job, clock.now());
    },
    /** Cancels the timers and waits for the runs in progress. */
    async stop() {
      started = false;
      for (const job of jobs) job.cancel?.();
      await Promise.all(jobs.map((job) => job.running?.done));
    },
    /** Runs a job now, outside its schedule (same no-overlap rule); null when it is already running. */
    runNow(name: string): Promise<RunReport> | null {
      const job = jobs.find((j) => j.entry.name === name || j.entry.path === name);
      if (!job) throw new Error(`No job "${name}" in the schedules (${jobs.map((j) => j.entry.name).join(', ')})`);
      if (job.running) return null;
      return startRun(job, clock.now());
    },
    /** Each job's next scheduled run. */
    upcoming() {
      return jobs.map((job) => ({ name: job.entry.name, schedule: job.entry.schedule, next: job.next ?? job.cron.nextRun(clock.now()) }));
    },
    isRunning: (name: string) => jobs.some((job) => job.entry.name === name && job.running !== null),
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;

/** The real clock. Node timers cannot wait more than ~24.8 days at once: a long wait is re-armed in steps. */
export const systemClock: Clock = {
  now: () => new Date(),
  setTimer(at, fn) {
    let timer: NodeJS.Timeout | undefined;
    const wait = () => {
      const delay = at.getTime() - Date.now();
      if (delay <= 0) return fn();
      timer = setTimeout(wait, Math.min(delay, 2_147_483_647));
    };
    wait();
    return () => clearTimeout(timer);
  },
};

/**
 * Calls the app's routes over HTTP with the cron credentials, so the scheduler works while another
 * process (`npm run dev`, `npm start`) holds the database.
 */
export function httpCaller(params: { baseUrl: string; authorization: string; timeoutMs: number; fetch?: typeof fetch }): Caller {
  const doFetch = params.fetch ?? fetch;
  return async (entry) => {
    const url = new URL(entry.path, params.baseUrl);
    let response: Response;
    try {
      response = await doFetch(url, {
        method: 'GET',
        headers: { authorization: params.authorization, 'user-agent': 'credits-scheduler' },
        signal: AbortSignal.timeout(params.timeoutMs),
      });
    } catch (error) {
      const reason =
        error instanceof Error && error.name === 'TimeoutError' ? `timed out after ${params.timeoutMs}ms` : describeFetchError(error);
      return { ok: false, status: null, hasMore: false, summary: `${url.origin}: ${reason}` };
    }
    const text = await response.text();
    let body: Record<string, unknown> | null = null;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON: a proxy's error page, a wrong APP_URL
    }
    if (!response.ok || !body) {
      const detail = body?.error ? String(body.error) : text.slice(0, 120).replace(/\s+/g, ' ');
      const hint = response.status === 401 ? " (check CRON_SECRET / CRON_JOBS_PASSWORD against the app's)" : '';
      return { ok: false, status: response.status, hasMore: false, summary: `${detail}${hint}` };
    }
    return { ok: true, status: response.status, hasMore: body.hasMore === true, summary: summarize(body) };
  };
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (is the app running at APP_URL?)';
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** The counts of a route's answer, without the per-schedule list. */
function summarize(body: Record<string, unknown>): string {
  const results = (typeof body.results === 'object' && body.results) || body;
  const counts = Object.entries(results as Record<string, unknown>)
    .filter(([key, value]) => typeof value === 'number' && key !== 'duration')
    .map(([key, value]) => `${key}=${value}`);
  return [`jobId=${body.jobId ?? '?'}`, ...counts, `duration=${body.duration ?? '?'}ms`].join(' ');
}

/** The Authorization header the routes accept: the bearer secret, or Basic credentials. */
export function cronAuthorization(env: { CRON_SECRET?: string; CRON_JOBS_USERNAME?: string; CRON_JOBS_PASSWORD?: string }): string | null {
  if (env.CRON_SECRET) return `Bearer ${env.CRON_SECRET}`;
  if (env.CRON_JOBS_USERNAME && env.CRON_JOBS_PASSWORD) {
    return `Basic ${Buffer.from(`${env.CRON_JOBS_USERNAME}:${env.CRON_JOBS_PASSWORD}`).toString('base64')}`;
  }
  return null;
}

/** What the start-up check found: the app answers with the scheduler's credentials, or why not. */
export type TargetCheck =
  { ok: true; status: string } | { ok: false; reason: 'unreachable' | 'unauthorized' | 'not_configured' | 'not_the_app'; message: string };

/**
 * Calls `/api/cron/health` with the scheduler's credentials once, at start-up, so a wrong APP_URL or a
 * wrong secret is said at once instead of at the first scheduled run (01:00 UTC). A `degraded` answer
 * is fine here: the app is reachable and accepts the credentials; the scheduler is what un-degrades it.
 */
export async function checkTarget(params: {
  baseUrl: string;
  authorization: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}): Promise<TargetCheck> {
  const doFetch = params.fetch ?? fetch;
  const url = new URL('/api/cron/health', params.baseUrl);
  let response: Response;
  try {
    response = await doFetch(url, {
      headers: { authorization: params.authorization, 'user-agent': 'credits-scheduler' },
      signal: AbortSignal.timeout(params.timeoutMs),
    });
  } catch (error) {
    const reason =
      error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${params.timeoutMs}ms` : describeFetchError(error);
    return {
      ok: false,
      reason: 'unreachable',
      message: `The app is unreachable at APP_URL=${params.baseUrl} (${reason}): start it, or set APP_URL to its address`,
    };
  }
  const body = (await response.json().catch(() => null)) as { status?: unknown; jobs?: unknown; error?: unknown } | null;
  if (response.status === 401) {
    return {
      ok: false,
      reason: 'unauthorized',
      message: `The app at ${url.origin} refused the scheduler's credentials (401): set CRON_SECRET (or CRON_JOBS_USERNAME and CRON_JOBS_PASSWORD) to the app's values`,
    };
  }
  if (response.status === 500 && body?.error === 'Cron auth not configured') {
    return {
      ok: false,
      reason: 'not_configured',
      message: `The app at ${url.origin} has no cron credentials configured: set CRON_SECRET in the app's environment too`,
    };
  }
  // With valid credentials the health route answers the jobs' detail (200 ok or 503 degraded); anything else is not this app.
  if (!body || typeof body.status !== 'string' || (typeof body.jobs !== 'object' && body.error === undefined)) {
    return {
      ok: false,
      reason: 'not_the_app',
      message: `${url.href} answered ${response.status} without a health report: is APP_URL this app's address?`,
    };
  }
  return { ok: true, status: `${body.status}${body.error ? ` (${String(body.error)})` : ''}` };
}
