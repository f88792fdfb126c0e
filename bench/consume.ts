// N consumptions from W concurrent workers through the consumeCredits usecase (the one-call path,
// `credits_debit`: the path every gated request of the app takes), and, in the same run, N through
// the five-round-trip path it replaced (debitCreditsInSteps) as the baseline, and N holds captured at
// once (reserveCredits then captureCredits: what withCredits costs beyond the work). Latency is per
// spend, end to end (key check, locks, burn-down, commit; both calls for a hold).
import { sql } from 'drizzle-orm';
import { queryRows } from '@/lib/server/db/sql';
import type { Database } from '@/lib/server/db/types';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { debitCreditsInSteps } from '@/lib/server/credits/debit-in-steps';
import { captureCredits } from '@/lib/server/usecases/capture-credits';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';

export type PathFigures = {
  ops: number;
  workers: number;
  /** Time spent in this path's rounds only. */
  ms: number;
  opsPerSec: number;
  succeeded: number;
  insufficient: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /**
   * WAL written per call (server-wide, over this path's rounds alone). Right after the jobs, most pages a
   * spend touches are touched for the first time since a checkpoint, and each then costs a full-page image.
   */
  walBytesPerCall: number;
};

/** The one-call path's figures (what the app runs), and the old path measured in the same run. */
export type ConsumeFigures = PathFigures & {
  path: 'one call';
  baseline: PathFigures & { path: 'in steps' };
  /** One-call throughput over the baseline's. */
  speedup: number;
  /** A hold and its capture (`withCredits` around a work that takes no time): two calls per spend, timed together. */
  holds: PathFigures & { path: 'reserve + capture' };
  /** Rounds the two paths alternated in (see below). */
  rounds: number;
};

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

type Spend = (db: Database, p: { userId: string; amount: number; key: string; worker: number; now: Date }) => Promise<{ ok: boolean }>;
type PathName = 'one call' | 'in steps' | 'reserve + capture';

const paths: Record<PathName, Spend> = {
  'one call': (db, p) =>
    consumeCredits(db, {
      userId: p.userId,
      amount: p.amount,
      reason: 'bench',
      idempotencyKey: p.key,
      metadata: { worker: p.worker },
      now: p.now,
    }),
  // What consumeCredits passed to the debit before migration 0005.
  'in steps': (db, p) =>
    debitCreditsInSteps(db, {
      userId: p.userId,
      amount: p.amount,
      idempotencyKey: p.key,
      kind: 'consume',
      metadata: { reason: 'bench', worker: p.worker },
      now: p.now,
    }),
  'reserve + capture': async (db, p) => {
    const hold = await reserveCredits(db, {
      userId: p.userId,
      amount: p.amount,
      key: p.key,
      reason: 'bench',
      metadata: { worker: p.worker },
      now: p.now,
    });
    if (!hold.ok) return hold;
    return captureCredits(db, { holdKey: hold.holdKey, userId: p.userId, now: p.now });
  },
};

type Tally = { ms: number; latencies: number[]; insufficient: number; ops: number; walBytes: number };

// The machine's load drifts during a run (another process, autovacuum, a checkpoint): the paths
// alternate in rounds, each going first in turn, so drift lands on all alike.
const ROUNDS = 4;

export async function runConsumptions(
  db: Database,
  p: { ops: number; workers: number; now: Date; amount?: number; onProgress?: (done: number) => void },
): Promise<ConsumeFigures> {
  // Random users, as requests would come: a user may be hit more than once (and then waits for their own lock).
  const users = (await queryRows<{ id: string }>(db, sql`select id from users order by random() limit ${p.ops * 2 + p.workers * 20}`)).map(
    (row) => row.id,
  );
  const tallies: Record<PathName, Tally> = { 'one call': newTally(), 'in steps': newTally(), 'reserve + capture': newTally() };
  let done = 0;
  let userIndex = 0;
  const round = async (name: PathName, ops: number, measured = true) => {
    const tally = measured ? tallies[name] : newTally();
    const first = tally.ops;
    const prefix = `bench:${measured ? 'consume' : 'warm-up'}:${name === 'one call' ? 'call' : name === 'in steps' ? 'steps' : 'hold'}`;
    let next = 0;
    const walBefore = await walPosition(db);
    const started = performance.now();
    const worker = async (w: number) => {
      for (;;) {
        const i = next++;
        if (i >= ops) return;
        const userId = users[userIndex++ % users.length]!;
        const t = performance.now();
        const result = await paths[name](db, {
          userId,
          amount: p.amount ?? 1,
          key: `${prefix}:${first + i}`,
          worker: w,
          now: p.now,
        });
        tally.latencies.push(performance.now() - t);
        if (!result.ok) tally.insufficient++;
        if (measured && ++done % 1_000 === 0) p.onProgress?.(done);
      }
    };
    await Promise.all(Array.from({ length: p.workers }, (_, w) => worker(w)));
    tally.ms += performance.now() - started;
    tally.ops += ops;
    tally.walBytes += (await walPosition(db)) - walBefore;
  };
  // Unmeasured first: each connection compiles the function's plans (and Node its code paths) on first use.
  const names: PathName[] = ['in steps', 'one call', 'reserve + capture'];
  for (const name of names) await round(name, p.workers * 10, false);
  for (let r = 0; r < ROUNDS; r++) {
    const ops = Math.floor(p.ops / ROUNDS) + (r < p.ops % ROUNDS ? 1 : 0);
    for (let i = 0; i < names.length; i++) await round(names[(r + i) % names.length]!, ops);
  }
  const oneCall = figures(tallies['one call'], p.workers);
  const inSteps = figures(tallies['in steps'], p.workers);
  return {
    ...oneCall,
    path: 'one call',
    baseline: { ...inSteps, path: 'in steps' },
    speedup: ratio(oneCall.opsPerSec, inSteps.opsPerSec),
    holds: { ...figures(tallies['reserve + capture'], p.workers), path: 'reserve + capture' },
    rounds: ROUNDS,
  };
}

const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : 0);

function newTally(): Tally {
  return { ms: 0, latencies: [], insufficient: 0, ops: 0, walBytes: 0 };
}

/** The server's WAL insert position in bytes (an LSN `X/Y` is X·2³² + Y). */
async function walPosition(db: Database): Promise<number> {
  const [row] = await queryRows<{ bytes: string | number }>(db, sql`select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') as bytes`);
  return Number(row?.bytes ?? 0);
}

function figures(tally: Tally, workers: number): PathFigures {
  const latencies = [...tally.latencies].sort((a, b) => a - b);
  return {
    ops: tally.ops,
    workers,
    ms: tally.ms,
    opsPerSec: tally.ms > 0 ? (tally.ops / tally.ms) * 1000 : 0,
    succeeded: tally.ops - tally.insufficient,
    insufficient: tally.insufficient,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? 0,
    walBytesPerCall: tally.ops > 0 ? Math.round(tally.walBytes / tally.ops) : 0,
  };
}

/** One line per path, for the bench's log (report.ts prints the one-call figures). */
export function describeConsumptions(c: ConsumeFigures): string[] {
  const line = (f: PathFigures & { path: string }) =>
    `  consumption, ${f.path.padEnd(17)}: ${Math.round(f.opsPerSec).toLocaleString('en')}/s, p50 ${f.p50Ms.toFixed(1)} ms, p95 ${f.p95Ms.toFixed(1)} ms, ` +
    `p99 ${f.p99Ms.toFixed(1)} ms, max ${f.maxMs.toFixed(1)} ms, ${f.walBytesPerCall.toLocaleString('en')} B of WAL per call ` +
    `(${f.ops.toLocaleString('en')} calls, ${f.workers} workers, ${f.insufficient} short)`;
  return [
    line(c),
    line(c.baseline),
    line(c.holds),
    `  one call / in steps: ${c.speedup}× the throughput (${c.rounds} alternating rounds); ` +
      `reserve + capture / in steps: ${ratio(c.holds.opsPerSec, c.baseline.opsPerSec)}×, / one call: ${ratio(c.holds.opsPerSec, c.opsPerSec)}×`,
  ];
}
