import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { expectInvariants } from '../helpers/invariants';
import { queryRows } from '@/lib/server/db/sql';
import { seedReliabilityData, type ReliabilitySeed } from './fixtures/seed';
import { requireRealServer } from './helpers';

const USERS = 20_000;
const KILLS = 20;
const now = new Date('2026-05-20T01:00:00Z');
const jobs = ['grant', 'subscription-grants', 'expire'] as const;

let t: TestDatabase;
let seed: ReliabilitySeed;

beforeAll(async () => {
  requireRealServer();
  t = await createTestDatabase();
  seed = await seedReliabilityData(t.db, { users: USERS, now });
});
afterAll(async () => {
  await t?.drop();
});

function startJob(job: (typeof jobs)[number]): { child: ChildProcess; chunks: () => number; exited: Promise<number | null> } {
  // `node --import tsx`, not the `tsx` command: that one runs the script in a child process, and a
  // SIGKILL to it would leave the real worker running to the end.
  const child = spawn(process.execPath, ['--conditions=react-server', '--import', 'tsx', 'tests/reliability/fixtures/run-job.ts', job, now.toISOString(), '50'], {
    env: { ...process.env, DATABASE_URL: t.url! },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let chunks = 0;
  child.stdout!.on('data', (data: Buffer) => {
    chunks += data.toString().split('\n').filter((line) => line === 'chunk').length;
  });
  child.stderr!.on('data', () => {});
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, chunks: () => chunks, exited };
}

async function owedState() {
  const [row] = await queryRows<Record<string, number>>(
    t.db,
    sql`select
      (select count(*) from credit_batches where source = 'free')::int as free_batches,
      (select count(distinct user_id) from credit_batches where source = 'free')::int as free_users,
      (select count(*) from credit_batches where source = 'subscription')::int as period_batches,
      (select count(*) from credit_batches where source = 'schedule')::int as installments,
      (select count(*) from credit_schedules where installments_done <> 4)::int as schedules_behind,
      (select count(*) from credit_batches where expires_at <= ${now.toISOString()}::timestamptz and expired_at is null)::int as unexpired_due,
      (select count(*) from credit_ledger where kind = 'expire')::int as expire_entries,
      (select count(*) from (select idempotency_key from credit_batches group by 1 having count(*) > 1) d)::int as duplicate_keys`,
  );
  return row!;
}

describe('a job killed with SIGKILL mid-run', () => {
  it(`loses and doubles nothing over ${KILLS} kills at random moments, and a following run pays everything owed`, async () => {
    let killedMidRun = 0;
    for (let i = 0; i < KILLS; i++) {
      const job = jobs[i % jobs.length]!;
      const run = startJob(job);
      // Kill after a random number of committed chunks (1…4) plus a few random milliseconds: by progress,
      // not by the clock, so the kill lands inside the work however fast the machine is, and chunks of 50
      // leave each job enough work for all its kills.
      const target = 1 + Math.floor(Math.random() * 4);
      const deadline = Date.now() + 60_000;
      while (run.chunks() < target && run.child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 15)));
      if (run.child.exitCode === null) {
        run.child.kill('SIGKILL');
        killedMidRun += 1;
      }
      await run.exited;
      // Whatever the moment, committed chunks are whole and the rest rolled back.
      await expectInvariants(t.db);
      expect((await owedState()).duplicate_keys).toBe(0);
    }
    // A kill can also land after the run recorded its success but before the process exited.
    expect(killedMidRun).toBeGreaterThanOrEqual(KILLS / 2);

    for (const job of jobs) {
      const run = startJob(job);
      expect(await run.exited).toBe(0);
    }
    await expectInvariants(t.db);
    expect(await owedState()).toEqual({
      free_batches: seed.free,
      free_users: seed.free,
      period_batches: seed.monthly,
      installments: seed.yearly * 4,
      schedules_behind: 0,
      unexpired_due: 0,
      expire_entries: seed.expiring,
      duplicate_keys: 0,
    });
    // A run killed mid-work is left `running` (the health route and `credits:inspect` show it as stale);
    // each such row proves a kill landed mid-run, and most kills must have, or the test proves nothing.
    const [runs] = await queryRows<{ running: number }>(t.db, sql`select count(*)::int as running from job_runs where status = 'running'`);
    console.log(`[crash] ${KILLS} kills, ${killedMidRun} while the process ran, ${runs!.running} runs left running`);
    expect(runs!.running).toBeLessThanOrEqual(killedMidRun);
    expect(runs!.running).toBeGreaterThanOrEqual(KILLS / 2);
  });
});
