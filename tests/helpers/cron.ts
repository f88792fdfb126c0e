import { expect } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { resetEnvCache } from '@/env';
import { jobRuns } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { queryRows } from '@/lib/server/db/sql';

export const CRON_SECRET = 'test-cron-secret-0123456789abcdef';
export const CRON_USER = 'cron-job-org';
// A colon inside: Basic auth splits at the first colon only.
export const CRON_PASSWORD = 'pass:word:with-colons-1234';

const CRON_VARS = ['CRON_SECRET', 'CRON_JOBS_USERNAME', 'CRON_JOBS_PASSWORD'] as const;

/** Sets the cron secrets the routes read (undefined: unset) and drops the cached env. */
export function setCronEnv(
  vars: Partial<Record<(typeof CRON_VARS)[number], string | undefined>> = {
    CRON_SECRET,
    CRON_JOBS_USERNAME: CRON_USER,
    CRON_JOBS_PASSWORD: CRON_PASSWORD,
  },
) {
  for (const name of CRON_VARS) {
    const value = vars[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  resetEnvCache();
}

export const bearer = (secret = CRON_SECRET) => ({ authorization: `Bearer ${secret}` });
export const basic = (user = CRON_USER, password = CRON_PASSWORD) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

/** A request as a scheduler sends it. */
export function cronRequest(path: string, options: { method?: string; headers?: Record<string, string> } = {}) {
  return new Request(`http://localhost${path}`, { method: options.method ?? 'GET', headers: options.headers ?? bearer() });
}

export async function readJson(response: Response) {
  expect(response.headers.get('content-type')).toContain('application/json');
  expect(response.headers.get('cache-control')).toBe('no-store');
  return response.json();
}

export async function jobRun(db: Database, id: string) {
  const [row] = await db.select().from(jobRuns).where(eq(jobRuns.id, id));
  return row;
}

export async function countRows(db: Database, table: 'credit_batches' | 'credit_ledger' | 'job_runs' | 'credit_balances') {
  const [row] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from ${sql.identifier(table)}`);
  return row!.n;
}
