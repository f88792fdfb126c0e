// The same jobs through their HTTP routes on a started `next start`, on a fresh copy of the seed:
// what a cron call costs beyond its usecase (the route's own `duration` is the usecase's time).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { jobCatalog } from '@/lib/server/jobs/catalog';
import type { BenchJob } from './core';
import { percentile } from './consume';

export type RouteServerOptions = {
  /** 3500-3599 on the shared machine. */
  port: number;
  /** The build `next start` serves (built with `NEXT_DIST_DIR=<distDir> next build`). */
  distDir: string;
  chunkSize?: number;
  /** Small calls per route (and as many 405s) timed after the jobs to split the overhead; default 60. */
  overheadRounds?: number;
};

export type RouteFigures = {
  calls: number;
  rows: number;
  /** Sum of the calls' wall time as the client saw it. */
  ms: number;
  rowsPerSec: number;
  /** Sum of the `duration` each response reported (the usecase's own time). */
  serverMs: number;
  /** Wall time minus the reported duration, per call. */
  overheadMsAvg: number;
  overheadMsP50: number;
  overheadMsMax: number;
  /** Peak resident memory of the server process during this job (VmHWM, reset before the job). */
  serverPeakRssMb: number | null;
};

// The jobs the bench seeds data for and measures (core.ts's `benchJobs`): the ones that move credits.
type Job = BenchJob;

/**
 * What a cron call costs beyond its job, split into what Next itself adds and what our route code adds,
 * from small calls repeated after the jobs have run (one sample per job is all the main run gives).
 * Next: the wall time of the same route's 405 answer (a `PUT`: routing, the handler returning JSON,
 * the HTTP round trip; no env, auth, database or job). Ours: a real call's wall time minus its reported
 * `duration` minus that. Medians, the calls of each kind interleaved so they share the machine's state.
 */
export type RouteOverheadFigures = {
  /** Calls of each kind. */
  rounds: number;
  /** Median wall time of a `PUT` (405) to the job routes: Next's own cost of a call, HTTP included. */
  nextMs: number;
  /** Median over every job call of (wall - duration - nextMs): our code's cost beyond the job's work. */
  oursMs: number;
  /** Per job: the median of wall - duration (a call that looks at one item: `limit=1`). */
  perJob: Record<Job, { wallMinusDurationMsP50: number; oursMsP50: number }>;
};

// The paths come from the job catalog; what the bench asks of each route and counts as its rows is its own.
const routes: Record<Job, { path: string; query: string; rows: (body: Record<string, unknown>) => number }> = {
  grant: { path: jobCatalog.grant.path, query: '', rows: (b) => Number((b.results as Record<string, number>)?.successful ?? 0) },
  'subscription-grants': { path: jobCatalog['subscription-grants'].path, query: 'limit=500', rows: (b) => Number(b.processed ?? 0) },
  expire: { path: jobCatalog.expire.path, query: '', rows: (b) => Number((b.results as Record<string, number>)?.processedBatches ?? 0) },
};

/** The server process and everything it started (Next may run the server in a child). */
function processTree(pid: number): number[] {
  const all = [pid];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(/\s+/) : []) all.push(...processTree(Number(child)));
    }
  } catch {
    // The process ended, or /proc is not Linux's: no memory figure then.
  }
  return all;
}

function peakRssMb(pid: number): number | null {
  let peak: number | null = null;
  for (const p of processTree(pid)) {
    try {
      const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1]);
      if (Number.isFinite(kb)) peak = Math.max(peak ?? 0, Math.round((kb / 1024) * 10) / 10);
    } catch {
      // gone
    }
  }
  return peak;
}

function resetPeakRss(pid: number) {
  for (const p of processTree(pid)) {
    try {
      writeFileSync(`/proc/${p}/clear_refs`, '5'); // 5: reset the peak resident set size (VmHWM)
    } catch {
      // not allowed here: the figure then covers the server's life so far
    }
  }
}

async function startServer(url: string, options: RouteServerOptions, secret: string, log: (line: string) => void) {
  const next = path.join(process.cwd(), 'node_modules', '.bin', 'next');
  const child: ChildProcess = spawn(next, ['start', '-p', String(options.port), '-H', '127.0.0.1'], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      NEXT_DIST_DIR: options.distDir,
      DATABASE_URL: url,
      CRON_SECRET: secret,
      // The bench follows `hasMore` itself, as a scheduler may: a route continuing itself in the
      // background would do part of the work where the bench does not count it.
      CRON_MAX_CONTINUATIONS: '0',
      BETTER_AUTH_SECRET: randomBytes(24).toString('hex'),
      BETTER_AUTH_URL: `http://127.0.0.1:${options.port}`,
      // Production refuses to start without them; the jobs measured here send no mail.
      SMTP_URL: 'smtp://127.0.0.1:2525',
      MAIL_FROM: 'Bench <bench@localhost>',
      ...(options.chunkSize ? { CREDITS_CHUNK_SIZE: String(options.chunkSize) } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  const base = `http://127.0.0.1:${options.port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`next start exited (${child.exitCode}):\n${output.slice(-2_000)}`);
    try {
      await fetch(`${base}/api/cron/health`);
      break;
    } catch {
      if (i > 600) throw new Error(`next start did not answer on ${base} within 60 s:\n${output.slice(-2_000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  log(`  next start (pid ${child.pid}) answers on ${base}`);
  return {
    base,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid!, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    },
  };
}

async function call(
  base: string,
  job: Job,
  secret: string,
  extra = '',
  method: 'POST' | 'PUT' = 'POST',
): Promise<{ wallMs: number; body: Record<string, unknown> }> {
  const route = routes[job];
  const query = extra || route.query;
  const started = performance.now();
  const response = await fetch(`${base}${route.path}${query ? `?${query}` : ''}`, {
    method,
    headers: { authorization: `Bearer ${secret}` },
  });
  const text = await response.text();
  const wallMs = performance.now() - started;
  const expected = method === 'PUT' ? 405 : 200;
  if (response.status !== expected) throw new Error(`${method} ${route.path} answered ${response.status}: ${text.slice(0, 500)}`);
  return { wallMs, body: JSON.parse(text) as Record<string, unknown> };
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
const round2 = (value: number) => Math.round(value * 100) / 100;

/** See RouteOverheadFigures. Each job call looks at one item (`limit=1`), after the jobs have run. */
async function measureOverhead(base: string, secret: string, rounds: number): Promise<RouteOverheadFigures> {
  const jobs: Job[] = ['grant', 'subscription-grants', 'expire'];
  const nextSamples: number[] = [];
  const samples = Object.fromEntries(jobs.map((job) => [job, [] as number[]])) as Record<Job, number[]>;
  for (let i = 0; i < rounds; i++) {
    for (const job of jobs) {
      nextSamples.push((await call(base, job, secret, '', 'PUT')).wallMs);
      const { wallMs, body } = await call(base, job, secret, 'limit=1');
      samples[job].push(wallMs - Number(body.duration ?? 0));
    }
  }
  const nextMs = median(nextSamples);
  const perJob = Object.fromEntries(
    jobs.map((job) => {
      const p50 = median(samples[job]);
      return [job, { wallMinusDurationMsP50: round2(p50), oursMsP50: round2(p50 - nextMs) }];
    }),
  ) as RouteOverheadFigures['perJob'];
  return { rounds, nextMs: round2(nextMs), oursMs: round2(median(jobs.flatMap((job) => samples[job])) - nextMs), perJob };
}

export async function runRoutes(
  url: string,
  options: RouteServerOptions,
  log: (line: string) => void,
): Promise<{ jobs: Record<Job, RouteFigures>; overhead: RouteOverheadFigures }> {
  const secret = randomBytes(24).toString('hex');
  const server = await startServer(url, options, secret, log);
  try {
    // Loads each route's module and opens the pool, writing nothing but a job-run row.
    for (const job of Object.keys(routes) as Job[]) await call(server.base, job, secret, 'dryRun=1&limit=1');
    const figures = {} as Record<Job, RouteFigures>;
    for (const job of ['grant', 'subscription-grants', 'expire'] as Job[]) {
      resetPeakRss(server.pid);
      const overheads: number[] = [];
      let rows = 0;
      let ms = 0;
      let serverMs = 0;
      let lastLog = Date.now();
      for (let more = true; more;) {
        const { wallMs, body } = await call(server.base, job, secret);
        rows += routes[job].rows(body);
        ms += wallMs;
        serverMs += Number(body.duration ?? 0);
        overheads.push(wallMs - Number(body.duration ?? 0));
        more = body.hasMore === true;
        if (Date.now() - lastLog > 1_000) {
          lastLog = Date.now();
          log(`  ${job}: ${overheads.length} calls, ${rows.toLocaleString('en')} rows`);
        }
        if (overheads.length > 100_000) throw new Error(`${job} still has more after 100 000 calls`);
      }
      overheads.sort((a, b) => a - b);
      figures[job] = {
        calls: overheads.length,
        rows,
        ms,
        rowsPerSec: ms > 0 ? Math.round((rows / ms) * 1000) : 0,
        serverMs,
        overheadMsAvg: overheads.reduce((a, b) => a + b, 0) / overheads.length,
        overheadMsP50: percentile(overheads, 50),
        overheadMsMax: overheads[overheads.length - 1] ?? 0,
        serverPeakRssMb: peakRssMb(server.pid),
      };
      const f = figures[job];
      log(
        `  ${job}: ${rows.toLocaleString('en')} rows in ${f.calls} calls, ${Math.round(ms)} ms = ${f.rowsPerSec.toLocaleString('en')}/s; overhead per call ${f.overheadMsAvg.toFixed(1)} ms avg; server peak RSS ${f.serverPeakRssMb} MB`,
      );
    }
    const overhead = await measureOverhead(server.base, secret, options.overheadRounds ?? 60);
    log(
      `  route overhead: ours ${overhead.oursMs.toFixed(1)} ms, Next ${overhead.nextMs.toFixed(1)} ms per call (medians of ${overhead.rounds} calls per route)`,
    );
    return { jobs: figures, overhead };
  } finally {
    await server.stop();
  }
}
