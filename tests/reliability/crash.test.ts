import { spawn, type ChildProcess } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { setupTestDatabase } from '@tests/helpers/db';
import { expectInvariants } from '@tests/helpers/invariants';
import { queryRows } from '@/lib/server/db/sql';
import { seedReliabilityData, type ReliabilitySeed } from './fixtures/seed';
import { requireRealServer } from './helpers';

const USERS = 20_000;
// The job process's connections carry this name, so the test can see its transactions on the server.
const APP_NAME = 'crash-test-job';
const KILLS = 20;
const now = new Date('2026-05-20T01:00:00Z');
const jobs = ['grant', 'subscription-grants', 'expire'] as const;

beforeAll(() => requireRealServer());
const t = setupTestDatabase();
let seed: ReliabilitySeed;
beforeAll(async () => {
  seed = await seedReliabilityData(t.db, { users: USERS, now });
});

function startJob(job: (typeof jobs)[number]): { child: ChildProcess; chunks: () => number; exited: Promise<number | null> } {
  // `node --import tsx`, not the `tsx` command: that one runs the script in a child process, and a
  // SIGKILL to it would leave the real worker running to the end.
  const child = spawn(
    process.execPath,
    ['--conditions=react-server', '--import', 'tsx', 'tests/reliability/fixtures/run-job.ts', job, now.toISOString(), '50'],
    {
      env: { ...process.env, DATABASE_URL: t.url!, PGAPPNAME: APP_NAME },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let chunks = 0;
  child.stdout!.on('data', (data: Buffer) => {
    chunks += data
      .toString()
      .split('\n')
      .filter((line) => line === 'chunk').length;
  });
  child.stderr!.on('data', () => {});
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, chunks: () => chunks, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * With the job process stopped (SIGSTOP), what its connections are doing on the server once no
 * statement of theirs is running: the id of a transaction it has open and has written in (a stopped
 * client can neither commit it nor start another), or null when it is between transactions or when
 * a statement stays `active` (the client was stopped halfway through sending it: look again later).
 */
async function openWriteTransaction(): Promise<string | null> {
  for (const deadline = Date.now() + 200; Date.now() < deadline; await sleep(2)) {
    const backends = await queryRows<{ state: string; xid: string | null }>(
      t.db,
      sql`select state, backend_xid::text as xid from pg_stat_activity where datname = current_database() and application_name = ${APP_NAME}`,
    );
    if (backends.some((b) => b.state === 'active')) continue; // a statement sent before the stop is still running
    return backends.find((b) => b.state.startsWith('idle in transaction') && b.xid !== null)?.xid ?? null;
  }
  return null;
}

/** What became of a transaction, by its 32-bit id (as pg_stat_activity shows it) in this epoch. */
async function transactionStatus(xid: string): Promise<string | null> {
  for (const deadline = Date.now() + 10_000; ; await sleep(10)) {
    const [row] = await queryRows<{ status: string | null }>(
      t.db,
      sql`select pg_xact_status(((pg_snapshot_xmax(pg_current_snapshot())::text::bigint >> 32 << 32) + ${xid}::bigint)::text::xid8) as status`,
    );
    // The server notices the dead client at once, but it ends the backend (and the transaction) in its own time.
    if (row!.status !== 'in progress' || Date.now() > deadline) return row!.status;
  }
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
    let killedInTransaction = 0;
    for (let i = 0; i < KILLS; i++) {
      const job = jobs[i % jobs.length]!;
      const run = startJob(job);
      // Let it commit a random number of chunks (1…4) and a few random milliseconds more: by progress,
      // not by the clock, so the kill lands inside the work however fast the machine is, and chunks of
      // 50 leave each job enough work for all its kills.
      const target = 1 + Math.floor(Math.random() * 4);
      const deadline = Date.now() + 60_000;
      while (run.chunks() < target && run.child.exitCode === null && Date.now() < deadline) await sleep(2);
      await sleep(Math.floor(Math.random() * 15));
      // Then freeze it, and kill it only if it is frozen inside a transaction it has written in;
      // otherwise let it run a moment and try again.
      let open: string | null = null;
      while (open === null && run.child.exitCode === null && Date.now() < deadline) {
        run.child.kill('SIGSTOP');
        open = await openWriteTransaction();
        if (open === null) {
          run.child.kill('SIGCONT');
          await sleep(Math.floor(Math.random() * 5));
        }
      }
      if (open !== null) run.child.kill('SIGKILL');
      else run.child.kill('SIGCONT');
      await run.exited;
      // The kill rolled back the transaction it interrupted: committed chunks are whole, the rest is gone.
      if (open !== null) {
        expect(await transactionStatus(open), `the transaction the kill interrupted (${job})`).toBe('aborted');
        killedInTransaction += 1;
      }
      await expectInvariants(t.db);
      expect((await owedState()).duplicate_keys).toBe(0);
    }
    // Every kill landed inside an open transaction, or the test would prove nothing. (Each job has
    // hundreds of chunks of 50 and commits at most 4 between kills: none can finish before it is caught.)
    console.log(`[crash] ${killedInTransaction} of ${KILLS} kills landed inside an open transaction, which the server rolled back`);
    expect(killedInTransaction).toBe(KILLS);

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
    // A run killed mid-work is left `running` (the health route and `credits:inspect` show it as stale).
    const [runs] = await queryRows<{ running: number }>(t.db, sql`select count(*)::int as running from job_runs where status = 'running'`);
    expect(runs!.running).toBe(killedInTransaction);
  });
});
