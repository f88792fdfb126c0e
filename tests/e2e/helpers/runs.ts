import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import type { Database } from '@/lib/server/db/types';
import { queryRows } from '@/lib/server/db/sql';

const run = promisify(execFile);

/** Calls a route with the real curl, as a crontab or a shell would; returns status, headers and body. */
export async function curl(url: string, args: string[] = []) {
  const { stdout } = await run('curl', ['-sS', '-i', '--max-time', '60', ...args, url]);
  const [head, ...rest] = stdout.split('\r\n\r\n');
  const status = Number(head!.split(' ')[1]);
  const body = rest.join('\r\n\r\n');
  return { status, head: head!, json: body ? JSON.parse(body) : null };
}

export type RunRow = {
  id: string;
  job: string;
  trigger: string;
  status: string;
  has_more: boolean;
  started_ms: number;
  finished_ms: number | null;
  results: Record<string, number> | null;
  position: number | null;
  first_run_id: string | null;
  outcome: string | null;
};

/** Every real (not dry-run) run of a job, oldest first, with its place in a continuation chain if any. */
export function runsOf(db: Database, job: string): Promise<RunRow[]> {
  return queryRows<RunRow>(
    db,
    sql`select id, job, trigger, status, has_more, results,
               (extract(epoch from started_at) * 1000)::float8 as started_ms,
               (extract(epoch from finished_at) * 1000)::float8 as finished_ms,
               (params->'chain'->>'position')::int as position,
               params->'chain'->>'firstRunId' as first_run_id,
               params->'chain'->>'outcome' as outcome
          from job_runs where job = ${job} and not dry_run order by started_at, id`,
  );
}

/**
 * The most runs that were in progress at one instant, from their recorded start and finish times.
 * 1 means the runs went one after another, whatever the callers intended.
 */
export function peakOverlap(runs: Pick<RunRow, 'started_ms' | 'finished_ms'>[]): number {
  const events = runs.flatMap((r) => [
    { at: Number(r.started_ms), delta: 1 },
    { at: Number(r.finished_ms ?? Infinity), delta: -1 },
  ]);
  // At equal times a finish comes first: a run that ends when another starts did not overlap it.
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let now = 0;
  let peak = 0;
  for (const e of events) peak = Math.max(peak, (now += e.delta));
  return peak;
}

/** Polls `check` until it returns a value, or fails after `timeoutMs` with what it saw last. */
export async function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Idempotency keys held by more than one batch: always empty, or something was granted twice. */
export function duplicateKeys(db: Database) {
  return queryRows<{ key: string; n: number }>(
    db,
    sql`select idempotency_key as key, count(*)::int as n from credit_batches group by 1 having count(*) > 1`,
  );
}

/**
 * Waits until no job is running and no chain is about to send its next link: what a test must do
 * before emptying the tables, or a chain left over from the previous test would write into the next.
 */
export function quiet(db: Database, timeoutMs = 60_000) {
  return waitFor(
    'the jobs to be quiet',
    async () => {
      const [row] = await queryRows<{ busy: number }>(
        db,
        sql`select count(*)::int as busy from job_runs r
             where r.status = 'running'
                or (r.params->'chain'->>'outcome' = 'continued'
                    and not exists (select 1 from job_runs n
                                     where n.params->'chain'->>'firstRunId' = r.params->'chain'->>'firstRunId'
                                       and (n.params->'chain'->>'position')::int = (r.params->'chain'->>'position')::int + 1))`,
      );
      return row!.busy === 0;
    },
    timeoutMs,
  );
}
