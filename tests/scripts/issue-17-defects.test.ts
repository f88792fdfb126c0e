import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, eq } from 'drizzle-orm';
import { creditBatches, creditLedger, jobRuns } from '@/lib/server/db/schema';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { at, makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf } from '@tests/helpers/queries';
import { createScriptDatabase, runShell, type ScriptDatabase } from './helpers';

// The three defects of issue 17, through the npm script names an operator types (they survive the
// move to one CLI as aliases), each asserting what a wrong run would have written.
let t: ScriptDatabase;
beforeAll(async () => {
  t = await createScriptDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const ledgerRows = (db: Parameters<Parameters<ScriptDatabase['use']>[0]>[0]) =>
  db
    .select({ n: count() })
    .from(creditLedger)
    .then(([row]) => row!.n);

describe('a flag is never silently ignored', () => {
  it('deduct --dry-run writes nothing', async () => {
    const before = await t.use(async (db) => {
      await makeUser(db, { id: 'adjusted', now: at('2026-01-01T00:00:00Z') });
      await makeBatch(db, { userId: 'adjusted', amount: 100, now: at('2026-01-01T00:00:00Z') });
      return ledgerRows(db);
    });

    const result = await runShell(
      'npm run -s credits:admin -- deduct --user adjusted@example.test --amount 10 --reason "ticket 1" --key k1 --dry-run',
      t.env,
    );

    expect(result.code, result.stderr).toBe(0);
    await t.use(async (db) => {
      expect(await balanceOf(db, 'adjusted')).toBe(100);
      expect(await ledgerRows(db)).toBe(before);
      await expectInvariants(db);
    });
  });

  it('a flag of another subcommand is refused with exit 2 and nothing is written', async () => {
    await t.use(async (db) => {
      await makeUser(db, { id: 'victim', now: at('2026-01-01T00:00:00Z') });
    });
    // `--plan` belongs to subscribe: a grant that accepted it would grant without saying it ignored it.
    const result = await runShell(
      'npm run -s credits:admin -- grant --user victim --amount 10 --reason "x" --key k2 --plan pro-monthly',
      t.env,
    );

    expect(result.code).toBe(2);
    await t.use(async (db) => {
      expect(await balanceOf(db, 'victim')).toBe(0);
      await expectInvariants(db);
    });
  });

  it('void-run --user --dry-run previews that one user only', async () => {
    const jobRunId = await t.use(async (db) => {
      for (const id of ['v1', 'v2', 'v3']) await makeUser(db, { id, now: at('2026-01-01T00:00:00Z') });
      const run = await grantMonthlyCredits(db, { trigger: 'test', now: new Date() });
      return run.jobId;
    });

    const result = await runShell(
      `npm run -s credits:admin -- void-run --job-run ${jobRunId} --user v2@example.test --dry-run --json`,
      t.env,
    );

    expect(result.code, result.stderr).toBe(0);
    const preview = JSON.parse(result.stdout) as { results: { users: number } };
    expect(preview.results.users).toBe(1);
    await t.use(async (db) => {
      expect(await db.select().from(creditLedger).where(eq(creditLedger.kind, 'void'))).toHaveLength(0);
      await expectInvariants(db);
    });
  });
});

describe('jobs grant --date D reproduces day D', () => {
  it('grants nothing to a user created after D', async () => {
    const day = '2026-10-31';
    await t.use(async (db) => {
      await makeUser(db, { id: 'born-in-november', now: at('2026-11-05T10:00:00Z') });
    });

    const result = await runShell(`npm run -s jobs -- grant --date ${day}`, t.env);

    expect(result.code, result.stderr).toBe(0);
    await t.use(async (db) => {
      const granted = await db.select().from(creditBatches).where(eq(creditBatches.userId, 'born-in-november'));
      expect(granted.filter((b) => b.idempotencyKey.endsWith(':2026-10'))).toEqual([]);
      await expectInvariants(db);
    });
  });

  it('refuses a date before the earliest user with exit 2, and runs nothing', async () => {
    const runsBefore = await t.use((db) =>
      db
        .select()
        .from(jobRuns)
        .then((rows) => rows.length),
    );

    const result = await runShell('npm run -s jobs -- grant --date 1999-01-01', t.env);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/before the first user/);
    await t.use(async (db) => {
      expect(await db.select().from(jobRuns)).toHaveLength(runsBefore);
    });
  });
});

describe('the documented pipes work', () => {
  it('an adjustment piped to jq gives its balance after', async () => {
    const result = await runShell(
      'npm run -s credits:admin -- grant --user victim --amount 5 --reason "pipe" --key pipe-1 --json | jq -e .balanceAfter',
      t.env,
    );
    expect(result.code, result.stderr).toBe(0);
    const balance = await t.use((db) => balanceOf(db, 'victim'));
    expect(balance).toBeGreaterThanOrEqual(5);
    expect(Number(result.stdout.trim())).toBe(balance);
  });

  it('a job dry run piped to jq gives its results', async () => {
    const result = await runShell('npm run -s jobs -- expire --dry-run --json | jq -e .results', t.env);
    expect(result.code, result.stderr).toBe(0);
    expect(Object.keys(JSON.parse(result.stdout) as object)).toEqual([
      'processedBatches',
      'processedUsers',
      'totalExpiredAmount',
      'failed',
      'releasedHolds',
      'totalReleasedAmount',
    ]);
  });
});
