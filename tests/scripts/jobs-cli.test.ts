import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, eq, sql } from 'drizzle-orm';
import { MAX_CREDITS } from '@/config/credits';
import { creditBalances, jobRuns } from '@/lib/server/db/schema';
import { utcDateKey, addUtcDays } from '@/lib/server/credits/time';
import { makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf } from '@tests/helpers/queries';
import { createScriptDatabase, jsonOutput, runCli, type ScriptDatabase } from './helpers';

let t: ScriptDatabase;
beforeAll(async () => {
  t = await createScriptDatabase();
});
afterAll(async () => {
  await t?.drop();
});

type Summary = { success: boolean; calls: number; jobIds: string[]; date?: string; results: Record<string, number>; hasMore: boolean };

describe('npm run jobs', () => {
  it('keeps calling while work remains, records each call as a cli job run, and exits 1 when a row failed', async () => {
    const ids = ['u1', 'u2', 'u3', 'u4', 'u5'];
    await t.use(async (db) => {
      for (const id of ids) await makeUser(db, { id });
      // A corrupted balance row: adding the free credits would pass MAX_CREDITS, which the database refuses, so this user fails.
      await db.insert(creditBalances).values({ userId: 'u3', balance: MAX_CREDITS - 10, totalGranted: MAX_CREDITS - 10 });
    });

    const result = await runCli(['jobs', 'grant', '--limit', '2', '--json'], t.env);

    expect(result.code, result.stderr).toBe(1);
    const summary = jsonOutput<Summary>(result);
    expect(summary).toMatchObject({ success: false, calls: 3, hasMore: false });
    expect(summary.results).toMatchObject({ successful: 4, failed: 1, users: 5 });
    expect(result.stderr).toMatch(/\[jobs grant call 3\] users 1, granted/);
    expect(result.stderr).toMatch(/1 row\(s\) failed/);
    expect(result.stderr).not.toMatch(/^\s+at /m); // no stack traces on a terminal
    await t.use(async (db) => {
      const runs = await db.select().from(jobRuns).orderBy(asc(jobRuns.startedAt));
      expect(runs.map((r) => [r.trigger, r.status, r.hasMore])).toEqual([
        ['cli', 'succeeded', true],
        ['cli', 'succeeded', true],
        ['cli', 'succeeded', false],
      ]);
      expect(runs.map((r) => r.id)).toEqual(summary.jobIds);
      for (const id of ['u1', 'u2', 'u4', 'u5']) expect(await balanceOf(db, id)).toBe(50);
      // Put the corrupted row back in order so the rest of the file runs on a sound database.
      await db.execute(sql`update credit_balances set balance = 0, total_granted = 0 where user_id = 'u3'`);
      await expectInvariants(db);
    });
  });

  it('backfills a past day as of the end of that UTC day', async () => {
    const yesterday = utcDateKey(addUtcDays(new Date(), -1));
    // A user who existed then (the others signed up today, and a backfill reproduces the day as it stood).
    await t.use((db) => makeUser(db, { id: 'old-timer', now: addUtcDays(new Date(), -2) }));

    const result = await runCli(['jobs', 'grant', '--date', yesterday, '--json'], t.env);

    expect(result.code, result.stderr).toBe(0);
    const summary = jsonOutput<Summary>(result);
    expect(summary).toMatchObject({ success: true, calls: 1, date: yesterday, hasMore: false });
    expect(result.stderr).toContain(`as of ${yesterday}T23:59:59.999Z`);
    await t.use(async (db) => {
      const [run] = await db.select().from(jobRuns).where(eq(jobRuns.id, summary.jobIds[0]!));
      expect(run).toMatchObject({ referenceDate: yesterday, trigger: 'cli', status: 'succeeded' });
      expect(run!.results).toMatchObject({ users: 1 });
      await expectInvariants(db);
    });
  });

  it('a dry run of expire names the batches it would expire, on the terminal and in --json, and writes nothing', async () => {
    const yesterday = addUtcDays(new Date(), -1);
    await t.use(async (db) => {
      await makeUser(db, { id: 'expiring', now: addUtcDays(new Date(), -40) });
      await makeBatch(db, { userId: 'expiring', amount: 17, expiresAt: yesterday, now: addUtcDays(new Date(), -40) });
    });

    const human = await runCli(['jobs', 'expire', '--dry-run'], t.env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/all 1 batches it would expire, with what each would lose:/);
    expect(human.stdout).toContain('expiring@example.test');

    const json = jsonOutput<Summary & { preview: { userId: string; amount: number }[] }>(
      await runCli(['jobs', 'expire', '--dry-run', '--json'], t.env),
    );
    expect(json.preview).toMatchObject([{ userId: 'expiring', amount: 17 }]);
    await t.use(async (db) => {
      expect(await balanceOf(db, 'expiring')).toBe(17);
      await expectInvariants(db);
    });
  });

  it.each([
    [['grant', '--date', '2999-01-01'], /in the future/],
    [['sweep'], /unknown command 'sweep'/],
    [['expire', '--limit', 'ten'], /--limit must be a whole number/],
  ])('refuses bad arguments with a line that says why and exit code 2: %j', async (args, message) => {
    const result = await runCli(['jobs', ...args], t.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});
