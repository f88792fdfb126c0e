import { afterAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { testServerUrl } from '@tests/helpers/db';
import { benchJobs, runBench, type BenchReport } from '../../bench/core';
import { createDatabaseIfMissing, dropDatabase, withDatabase } from '../../bench/databases';

// The bench clones its database with CREATE DATABASE … TEMPLATE and measures a Postgres server:
// PGlite can do neither, so on PGlite this smoke run is skipped (with the reason printed below).
const reason = 'the bench needs a Postgres server (set TEST_DATABASE_URL); PGlite cannot clone databases';
if (!testServerUrl) console.log(`tests/bench/smoke.test.ts skipped: ${reason}`);

const name = `credits_bench_smoke_${process.pid}_${randomBytes(3).toString('hex')}`;
afterAll(async () => {
  if (testServerUrl) await dropDatabase(testServerUrl, name);
});

const positive = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value > 0;

it.skipIf(!testServerUrl)('the bench runs on 1 000 users and reports well-formed figures for every job', async () => {
  await createDatabaseIfMissing(testServerUrl!, name);
  const report: BenchReport = await runBench(withDatabase(testServerUrl!, name), {
    users: 1_000,
    consumptions: 300,
    workers: 4,
    log: () => {},
  });

  expect(report.invariants.afterSeed.ok).toBe(true);
  expect(report.invariants.afterJobs.ok).toBe(true);
  expect(report.mix).toEqual({ free: 600, monthly: 200, yearly: 100, lifetime: 100 });
  // What the calendar makes due: a grant for every user without a yearly plan, three installments
  // per yearly plan, and every batch granted at sign-up (2 or 3 per user).
  expect(report.jobs.grant.rows).toBe(900);
  expect(report.jobs['subscription-grants'].rows).toBe(300);
  expect(report.jobs.expire.rows).toBe(2_400);
  for (const job of benchJobs) {
    const f = report.jobs[job];
    for (const value of [
      f.rows,
      f.ms,
      f.rowsPerSec,
      f.chunks,
      f.calls,
      f.peakRssMb,
      f.maxRssMb,
      f.ceiling?.rows,
      f.ceiling?.ms,
      f.ceiling?.rowsPerSec,
      f.pctOfCeiling,
    ]) {
      expect(positive(value), `${job}: ${JSON.stringify(f)}`).toBe(true);
    }
    expect(f.ceiling!.rows).toBe(f.rows);
  }
  const c = report.consume;
  expect(c.ops).toBe(300);
  expect(c.succeeded).toBe(300);
  for (const value of [c.ms, c.opsPerSec, c.p50Ms, c.p95Ms, c.p99Ms, c.maxRssMb]) expect(positive(value)).toBe(true);
  expect(c.p50Ms).toBeLessThanOrEqual(c.p99Ms);
  // Every spend writes its ledger entry, operation and balance: WAL for each path, and the old path measured beside it.
  expect(c.walBytesPerCall).toBeGreaterThan(0);
  expect(c.baseline.walBytesPerCall).toBeGreaterThan(0);
  expect(c.baseline.succeeded).toBe(300);
  expect(positive(c.speedup)).toBe(true);
  // Holds: each of the 300 reserved and captured, measured beside the others.
  expect(c.holds).toMatchObject({ path: 'reserve + capture', ops: 300, succeeded: 300 });
  expect(c.holds.walBytesPerCall).toBeGreaterThan(0);
  // The JSON file holds exactly this object: it must survive a round trip.
  expect(JSON.parse(JSON.stringify(report))).toEqual(report);
});
