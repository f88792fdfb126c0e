// The bench's own databases: the guard that refuses anything but a bench database, and the clones
// that give each phase (usecases, raw SQL ceiling, routes) an identical fresh copy of the seed.
import postgres from 'postgres';
import { BENCH_EMAIL_DOMAIN, BENCH_MARKER_TABLE } from './seed';

/** The bench refuses to run: one line for the user, no stack trace. */
export class BenchRefusal extends Error {
  readonly code = 'BENCH_REFUSED' as const;
}

export function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!name) throw new BenchRefusal('DATABASE_URL names no database: add one, e.g. postgres://postgres@127.0.0.1:5432/credits_bench');
  return name;
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function onServer<T>(url: string, work: (admin: postgres.Sql) => Promise<T>): Promise<T> {
  const admin = postgres(withDatabase(url, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    return await work(admin);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

export async function createDatabaseIfMissing(url: string, name: string): Promise<boolean> {
  return onServer(url, async (admin) => {
    const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
    if (exists) return false;
    await admin.unsafe(`create database ${quote(name)}`);
    return true;
  });
}

/** A file-level copy of `template` (which must have no open connection): seconds even for a million users. */
export async function cloneDatabase(url: string, template: string, name: string): Promise<string> {
  await onServer(url, async (admin) => {
    await admin.unsafe(`drop database if exists ${quote(name)} with (force)`);
    await admin.unsafe(`create database ${quote(name)} template ${quote(template)}`);
  });
  return withDatabase(url, name);
}

export async function dropDatabase(url: string, name: string): Promise<void> {
  await onServer(url, (admin) => admin.unsafe(`drop database if exists ${quote(name)} with (force)`).then(() => undefined));
}

/**
 * Refuses a database that holds anyone but bench users. A database is the bench's when it has the
 * marker table (written before the first seeded row) and every user's email is in the bench's domain;
 * an empty database is fine too. Returns whether earlier bench data is there to wipe.
 */
export type SeedRecord = {
  users: number;
  runAt?: string;
  seed?: { ms: number; usersPerSec: number; batches: number; ledger: number; schedules: number; subscriptions: number };
};

export async function checkBenchDatabase(url: string): Promise<{ hasBenchData: boolean; seeded: SeedRecord | null }> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [tables] = await client<{ users: string | null; marker: string | null }[]>`
      select to_regclass('public.users')::text as users, to_regclass(${`public.${BENCH_MARKER_TABLE}`})::text as marker`;
    if (!tables?.users) return { hasBenchData: false, seeded: null };
    const [anyUser] = await client`select 1 from users limit 1`;
    if (!anyUser) return { hasBenchData: Boolean(tables.marker), seeded: null };
    const [foreign] = await client<{ email: string }[]>`
      select email from users where email not like ${`%@${BENCH_EMAIL_DOMAIN}`} limit 1`;
    if (!tables.marker || foreign) {
      throw new BenchRefusal(
        `${databaseName(url)} holds users the bench did not create${foreign ? ` (e.g. ${foreign.email})` : ''}: ` +
          'the bench wipes its database, so it only runs on an empty one or its own. Use --create-db for a scratch database credits_bench.',
      );
    }
    const [marker] = await client<{ params: SeedRecord }[]>`select params from ${client(BENCH_MARKER_TABLE)} limit 1`;
    return { hasBenchData: true, seeded: marker?.params ?? null };
  } catch (error) {
    if (error instanceof BenchRefusal) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new BenchRefusal(`Cannot reach ${databaseName(url)} (${message}). Use --create-db to create a scratch database credits_bench.`);
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** Marks the database as the bench's (before any row is written) and wipes an earlier seed. */
export async function claimBenchDatabase(url: string, params: Record<string, unknown>): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client.unsafe(
      `create table if not exists ${BENCH_MARKER_TABLE} (seeded_at timestamptz not null default now(), params jsonb not null)`,
    );
    await client.unsafe(`truncate ${BENCH_MARKER_TABLE}`);
    await client`insert into ${client(BENCH_MARKER_TABLE)} (params) values (${client.json(params as postgres.JSONValue)})`;
    await client.unsafe(
      `truncate users, sessions, accounts, verifications, subscriptions, job_runs, credit_balances, credit_batches,
                credit_ledger, credit_operations, credit_schedules restart identity cascade`,
    );
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** Stores what was seeded, so `--reuse-seed` can run the jobs again on the same data and calendar. */
export async function recordSeed(url: string, record: SeedRecord): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client`update ${client(BENCH_MARKER_TABLE)} set params = ${client.json(record as unknown as postgres.JSONValue)}`;
  } finally {
    await client.end({ timeout: 5 });
  }
}
