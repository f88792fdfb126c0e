// The bench itself, as a function of a database URL and options: `bench/run.ts` is its command line,
// tests/bench/smoke.test.ts runs it in-process on 1 000 users.
import os from 'node:os';
import { sql } from 'drizzle-orm';
import { connect, type DatabaseHandle } from '@/lib/server/db/client';
import { migrateDatabase } from '@/lib/server/db/migrate';
import { queryRows } from '@/lib/server/db/sql';
import type { Database } from '@/lib/server/db/types';
import { checkInvariants } from '@/lib/server/usecases/check-invariants';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { processDueSchedules } from '@/lib/server/usecases/process-due-schedules';
import { expireCeiling, grantCeiling, scheduleCeiling, type CeilingFigures } from './ceiling';
import { describeConsumptions, runConsumptions, type ConsumeFigures } from './consume';
import { checkBenchDatabase, claimBenchDatabase, cloneDatabase, databaseName, dropDatabase, recordSeed } from './databases';
import { benchCalendar, segmentCounts, seedUsers, type BenchCalendar } from './seed';
import { runRoutes, type RouteFigures, type RouteOverheadFigures, type RouteServerOptions } from './routes';

export const benchJobs = ['grant', 'subscription-grants', 'expire'] as const;
export type BenchJob = (typeof benchJobs)[number];

export type BenchOptions = {
  users: number;
  /** Users (batches, schedules) per job chunk; the jobs' default is 1 000. */
  chunkSize?: number;
  seedChunkSize?: number;
  consumptions?: number;
  workers?: number;
  /**
   * Check every user's invariants (set-based, seconds at 100 000 users), or those of 500 random users one
   * by one (each rule still aggregates its whole table: slower than `all` beyond small databases).
   */
  invariants?: 'all' | 'sample';
  /** Keep the database's earlier seed of the same size (and its calendar) instead of seeding again. */
  reuseSeed?: boolean;
  /** Also time each job through its HTTP route on a started `next start`. */
  routes?: RouteServerOptions | null;
  log?: (line: string) => void;
};

export type JobFigures = {
  job: BenchJob;
  unit: string;
  rows: number;
  ms: number;
  rowsPerSec: number;
  chunks: number;
  calls: number;
  /** Highest resident memory sampled while the job ran, and the process's peak so far (resourceUsage().maxRSS). */
  peakRssMb: number;
  maxRssMb: number;
  ceiling: (CeilingFigures & { rowsPerSec: number }) | null;
  pctOfCeiling: number | null;
  route: RouteFigures | null;
};

export type InvariantFigures = {
  mode: 'all' | 'sample';
  usersChecked: number;
  ok: boolean;
  violations: number;
  ms: number;
  sample?: string[];
};

export type BenchReport = {
  startedAt: string;
  finishedAt: string;
  users: number;
  mix: ReturnType<typeof segmentCounts>;
  calendar: { signupAt: string; yearlyAt: string; runAt: string };
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; postgres: string };
  options: { chunkSize: number; consumptions: number; workers: number };
  seed: { ms: number; usersPerSec: number; batches: number; ledger: number; schedules: number; subscriptions: number };
  invariants: { afterSeed: InvariantFigures; afterJobs: InvariantFigures };
  jobs: Record<BenchJob, JobFigures>;
  /** What a cron call costs beyond its job: our route code and Next itself (null without routes). */
  routeOverhead: RouteOverheadFigures | null;
  consume: ConsumeFigures & { maxRssMb: number };
};

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const perSec = (rows: number, ms: number) => (ms > 0 ? Math.round((rows / ms) * 1000) : 0);

/** Samples this process's resident memory while `work` runs. */
async function withMemory<T>(work: () => Promise<T>): Promise<{ value: T; peakRssMb: number; maxRssMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, peakRssMb: mb(peak), maxRssMb: mb(process.resourceUsage().maxRSS * 1024) };
  } finally {
    clearInterval(timer);
  }
}

function throttled(log: (line: string) => void, everyMs = 1_000) {
  let last = 0;
  return (line: string, force = false) => {
    const t = Date.now();
    if (force || t - last >= everyMs) {
      last = t;
      log(line);
    }
  };
}

async function checkAll(db: Database, mode: 'all' | 'sample', users: number): Promise<InvariantFigures> {
  const started = performance.now();
  if (mode === 'all') {
    const { violations } = await checkInvariants(db, { maxPerRule: 5 });
    return {
      mode,
      usersChecked: users,
      ok: violations.length === 0,
      violations: violations.length,
      ms: Math.round(performance.now() - started),
      sample: violations.slice(0, 5).map((v) => `${v.rule}: ${v.subject} ${v.detail}`),
    };
  }
  const sample = await queryRows<{ id: string }>(db, sql`select id from users tablesample system (1) limit 500`);
  let violations = 0;
  const examples: string[] = [];
  for (const { id } of sample) {
    const result = await checkInvariants(db, { userId: id, maxPerRule: 5 });
    violations += result.violations.length;
    examples.push(...result.violations.slice(0, 5 - examples.length).map((v) => `${v.rule}: ${v.subject} ${v.detail}`));
  }
  return {
    mode,
    usersChecked: sample.length,
    ok: violations === 0,
    violations,
    ms: Math.round(performance.now() - started),
    sample: examples,
  };
}

/** Runs one job through its usecase until it reports no more work, as repeated cron calls would. */
async function runJobViaUsecase(db: Database, job: BenchJob, now: Date, chunkSize: number, log: (line: string) => void) {
  const progress = throttled(log);
  let chunks = 0;
  let calls = 0;
  let rows = 0;
  const onChunk = (counts: Record<string, number>) => {
    chunks++;
    progress(
      `  ${job}: ${Object.entries(counts)
        .map(([k, v]) => `${k} ${v.toLocaleString('en')}`)
        .join(', ')}`,
    );
  };
  const started = performance.now();
  for (let more = true; more;) {
    calls++;
    if (job === 'grant') {
      const r = await grantMonthlyCredits(db, {
        trigger: 'cli',
        now,
        chunkSize,
        onChunk: (c) => onChunk({ ...c, granted: rows + (c.granted ?? 0) }),
      });
      rows += r.results.successful;
      more = r.hasMore;
    } else if (job === 'expire') {
      const r = await expireCredits(db, {
        trigger: 'cli',
        now,
        chunkSize,
        onChunk: (c) => onChunk({ ...c, batches: rows + (c.batches ?? 0) }),
      });
      rows += r.results.processedBatches;
      more = r.hasMore;
    } else {
      const r = await processDueSchedules(db, {
        trigger: 'cli',
        now,
        chunkSize,
        limit: Number.MAX_SAFE_INTEGER,
        onChunk: (c) => onChunk({ ...c, installments: rows + (c.installments ?? 0) }),
      });
      rows += r.processed;
      more = r.hasMore;
    }
    if (calls > 10_000) throw new Error(`${job} still reports more work after 10 000 calls`);
  }
  return { rows, ms: performance.now() - started, chunks, calls };
}

const units: Record<BenchJob, string> = { grant: 'grants', 'subscription-grants': 'installments', expire: 'expired batches' };

export async function runBench(url: string, options: BenchOptions): Promise<BenchReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const chunkSize = options.chunkSize ?? 1_000;
  const consumptions = options.consumptions ?? 10_000;
  const workers = options.workers ?? 16;
  const invariantMode = options.invariants ?? 'all';
  const startedAt = new Date();
  const name = databaseName(url);

  const { hasBenchData, seeded: earlier } = await checkBenchDatabase(url);
  const reuse = options.reuseSeed && earlier?.users === options.users && earlier.runAt ? earlier : null;
  // The jobs run "now" (to the second): the routes can only run on the server's clock.
  const calendar: BenchCalendar = benchCalendar(
    reuse?.runAt ? new Date(reuse.runAt) : new Date(Math.floor(startedAt.getTime() / 1000) * 1000),
  );
  const setup = await connect({ url, maxConnections: 2 });
  let seed: BenchReport['seed'];
  let afterSeed: InvariantFigures;
  let postgresVersion: string;
  try {
    await migrateDatabase(setup, { url });
    if (reuse) {
      log(`Reusing the seed of ${options.users.toLocaleString('en')} users in ${name} (jobs run at ${reuse.runAt})`);
      seed = reuse.seed ?? { ms: 0, usersPerSec: 0, batches: 0, ledger: 0, schedules: 0, subscriptions: 0 };
    } else {
      await claimBenchDatabase(url, { users: options.users, runAt: calendar.runAt.toISOString() });
      if (hasBenchData) log(`Wiped the previous bench data in ${name}`);
      log(`Seeding ${options.users.toLocaleString('en')} users into ${name} …`);
      const progress = throttled(log);
      const seeded = await seedUsers(setup.db, {
        users: options.users,
        calendar,
        chunkSize: options.seedChunkSize,
        onProgress: (p) =>
          progress(
            `  seeded ${p.users.toLocaleString('en')} / ${p.total.toLocaleString('en')} users (${(p.elapsedMs / 1000).toFixed(1)} s)`,
            p.users === p.total,
          ),
      });
      seed = {
        ms: seeded.ms,
        usersPerSec: perSec(seeded.users, seeded.ms),
        batches: seeded.batches,
        ledger: seeded.ledger,
        schedules: seeded.schedules,
        subscriptions: seeded.subscriptions,
      };
      // A production database is autovacuumed and analyzed; a freshly loaded one is not until autovacuum wakes up.
      await setup.db.execute(sql`vacuum analyze`);
      await recordSeed(url, { users: options.users, runAt: calendar.runAt.toISOString(), seed });
    }
    afterSeed = await checkAll(setup.db, invariantMode, options.users);
    log(
      `  invariants after seeding (${afterSeed.mode}, ${afterSeed.usersChecked.toLocaleString('en')} users): ${afterSeed.ok ? 'ok' : `${afterSeed.violations} violations`} (${afterSeed.ms} ms)`,
    );
    postgresVersion = (await queryRows<{ v: string }>(setup.db, sql`select current_setting('server_version') as v`))[0]!.v;
  } finally {
    await setup.close();
  }

  // Each phase works on its own file-level copy of the seed, so all three meet identical data.
  const jobs = {} as Record<BenchJob, JobFigures>;
  let consume: BenchReport['consume'];
  let afterJobs: InvariantFigures;
  const usecaseDb = `${name}_uc`;
  const rawDb = `${name}_raw`;
  // Each job's ceiling runs right after its usecase, on its own copy: on a shared machine the load
  // changes from minute to minute, and the percentage compares two figures taken under the same load.
  log(`\nUsecases (chunk ${chunkSize}) on a copy of the seed, each followed by its raw SQL ceiling (one statement) on another copy:`);
  const handle: DatabaseHandle = await connect({ url: await cloneDatabase(url, name, usecaseDb), maxConnections: workers + 2 });
  let raw: DatabaseHandle | null = null;
  const ceilings: Record<BenchJob, (db: Database, now: Date) => Promise<CeilingFigures>> = {
    grant: grantCeiling,
    'subscription-grants': scheduleCeiling,
    expire: expireCeiling,
  };
  try {
    raw = await connect({ url: await cloneDatabase(url, name, rawDb), maxConnections: 2 });
    for (const job of benchJobs) {
      const { value, peakRssMb, maxRssMb } = await withMemory(() => runJobViaUsecase(handle.db, job, calendar.runAt, chunkSize, log));
      jobs[job] = {
        job,
        unit: units[job],
        ...value,
        rowsPerSec: perSec(value.rows, value.ms),
        peakRssMb,
        maxRssMb,
        ceiling: null,
        pctOfCeiling: null,
        route: null,
      };
      log(
        `  ${job}: ${value.rows.toLocaleString('en')} ${units[job]} in ${Math.round(value.ms)} ms = ${jobs[job].rowsPerSec.toLocaleString('en')}/s (${value.chunks} chunks, ${value.calls} calls, peak RSS ${peakRssMb} MB)`,
      );
      const c = await ceilings[job](raw.db, calendar.runAt);
      const figures = jobs[job];
      figures.ceiling = { ...c, rowsPerSec: perSec(c.rows, c.ms) };
      figures.pctOfCeiling = figures.ceiling.rowsPerSec > 0 ? Math.round((figures.rowsPerSec / figures.ceiling.rowsPerSec) * 100) : null;
      if (c.rows !== figures.rows) log(`  ⚠ ${job}: the ceiling wrote ${c.rows} rows, the usecase ${figures.rows}`);
      log(
        `  ${job} ceiling: ${c.rows.toLocaleString('en')} ${units[job]} in ${Math.round(c.ms)} ms = ${figures.ceiling.rowsPerSec.toLocaleString('en')}/s (usecase at ${figures.pctOfCeiling}% of it)`,
      );
    }
    await raw.close();
    raw = null;
    await dropDatabase(url, rawDb);
    // The jobs rewrote most balance and batch rows; a production database's autovacuum cleans up after
    // them within minutes, long before the day's spending. Without this, consumption would be timed
    // against autovacuum starting up in the middle of it, on the same two cores.
    await handle.db.execute(sql`vacuum analyze`);
    log(`  consumption: ${consumptions.toLocaleString('en')} calls from ${workers} workers …`);
    const progress = throttled(log);
    const measured = await withMemory(() =>
      runConsumptions(handle.db, {
        ops: consumptions,
        workers,
        now: calendar.runAt,
        onProgress: (done) => progress(`  consumed ${done.toLocaleString('en')}`),
      }),
    );
    consume = { ...measured.value, maxRssMb: measured.maxRssMb };
    for (const line of describeConsumptions(consume)) log(line);
    afterJobs = await checkAll(handle.db, invariantMode, options.users);
    log(
      `  invariants after the jobs (${afterJobs.mode}): ${afterJobs.ok ? 'ok' : `${afterJobs.violations} violations`} (${afterJobs.ms} ms)`,
    );
  } finally {
    await raw?.close();
    await handle.close();
    await dropDatabase(url, usecaseDb);
    await dropDatabase(url, rawDb);
  }

  let routeOverhead: RouteOverheadFigures | null = null;
  if (options.routes) {
    const httpDb = `${name}_http`;
    log(`\nRoutes on next start, on a fresh copy:`);
    try {
      const routeFigures = await runRoutes(await cloneDatabase(url, name, httpDb), options.routes, log);
      for (const job of benchJobs) jobs[job].route = routeFigures.jobs[job];
      routeOverhead = routeFigures.overhead;
    } finally {
      await dropDatabase(url, httpDb);
    }
  }

  return {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    users: options.users,
    mix: segmentCounts(options.users),
    calendar: { signupAt: calendar.signupAt.toISOString(), yearlyAt: calendar.yearlyAt.toISOString(), runAt: calendar.runAt.toISOString() },
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGb: Math.round(os.totalmem() / 1024 ** 3),
      node: process.version,
      postgres: postgresVersion,
    },
    options: { chunkSize, consumptions, workers },
    seed,
    invariants: { afterSeed, afterJobs },
    jobs,
    routeOverhead,
    consume,
  };
}
