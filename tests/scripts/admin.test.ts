import { afterAll, beforeAll, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { creditLedger, subscriptions, users } from '@/lib/server/db/schema';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';
import { at, makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf, ledgerOf } from '@tests/helpers/queries';
import { createScriptDatabase, runCli, runShell, type ScriptDatabase } from './helpers';

let t: ScriptDatabase;
beforeAll(async () => {
  t = await createScriptDatabase();
});
afterAll(async () => {
  await t?.drop();
});

it('void-run takes back what a grant run granted and nobody spent, restoring the balances; a second void changes nothing', async () => {
  const now = new Date();
  const { jobId, before } = await t.use(async (db) => {
    for (const id of ['a', 'b', 'c']) await makeUser(db, { id, now: at('2026-01-01T00:00:00Z') });
    await makeBatch(db, { userId: 'a', amount: 40, now: at('2026-01-01T00:00:00Z') });
    const before = { a: await balanceOf(db, 'a'), b: await balanceOf(db, 'b'), c: await balanceOf(db, 'c') };
    const run = await grantMonthlyCredits(db, { trigger: 'test', now });
    expect(run.results.successful).toBe(3); // 50 free credits each
    // c spends 20 of the run's credits: only the 30 left can be voided.
    await consumeCredits(db, { userId: 'c', amount: 20, reason: 'test', idempotencyKey: 'spend-c', now });
    return { jobId: run.jobId, before };
  });

  const voided = await runCli(['admin', 'void-run', '--job-run', jobId, '--reason', 'bad run', '--yes'], t.env);

  expect(voided.code, voided.stderr).toBe(0);
  expect(voided.stdout).toContain(`✔ Voided grant run ${jobId}: 130 credits taken from 3 batches of 3 users`);
  await t.use(async (db) => {
    expect(await balanceOf(db, 'a')).toBe(before.a);
    expect(await balanceOf(db, 'b')).toBe(before.b);
    expect(await balanceOf(db, 'c')).toBe(0);
    const entries = await db.select().from(creditLedger).where(eq(creditLedger.kind, 'void'));
    expect(entries).toHaveLength(3);
    expect(entries.every((e) => e.operationKey.startsWith(`void:${jobId}:`) && e.metadata?.reason === 'bad run')).toBe(true);
    await expectInvariants(db);
  });

  const again = await runCli(['admin', 'void-run', '--job-run', jobId, '--yes'], t.env);
  expect(again.code, again.stderr).toBe(0);
  // A second void takes nothing more and reports what the first took.
  expect(again.stdout).toContain(
    `✔ Already voided: grant run ${jobId} had 130 credits taken from 3 batches of 3 users; nothing more to take`,
  );
  await t.use(async (db) => {
    expect(await db.select().from(creditLedger).where(eq(creditLedger.kind, 'void'))).toHaveLength(3);
    await expectInvariants(db);
  });
});

it('grant and deduct record an adjustment with the reason; a deduction beyond the balance is refused with exit 1', async () => {
  const granted = await runCli(
    ['admin', 'grant', '--user', 'b', '--amount', '25', '--reason', 'goodwill', '--key', 'ticket-1', '--expires-in-days', '30'],
    t.env,
  );
  expect(granted.code, granted.stderr).toBe(0);
  expect(granted.stdout).toContain('✔ Granted 25 credits to b@example.test. Key: ticket-1');

  const refused = await runCli(['admin', 'deduct', '--user', 'b', '--amount', '1000', '--reason', 'chargeback'], t.env);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/has \d+ spendable credits, fewer than the 1000 to deduct: nothing was taken/);

  await t.use(async (db) => {
    const entries = await ledgerOf(db, 'b');
    const adjustment = entries.find((e) => e.operationKey === 'ticket-1')!;
    expect(adjustment).toMatchObject({ kind: 'adjust', delta: 25 });
    expect(adjustment.metadata).toMatchObject({ reason: 'goodwill' });
    expect(String(adjustment.metadata?.actor)).toMatch(/^cli:/);
    await expectInvariants(db);
  });
});

it('subscribe starts a plan and grants its first period; cancel stops it', async () => {
  const started = await runCli(
    ['admin', 'subscribe', '--user', 'a@example.test', '--plan', 'pro-monthly', '--subscription-id', 'sub-ops-1'],
    t.env,
  );
  expect(started.code, started.stderr).toBe(0);
  const canceled = await runCli(['admin', 'cancel', '--subscription', 'sub-ops-1'], t.env);
  expect(canceled.code, canceled.stderr).toBe(0);

  await t.use(async (db) => {
    const [sub] = await db
      .select()
      .from(subscriptions)
      .where(and(eq(subscriptions.id, 'sub-ops-1'), eq(subscriptions.userId, 'a')));
    expect(sub).toMatchObject({ planId: 'pro-monthly', status: 'canceled' });
    expect((await ledgerOf(db, 'a')).some((e) => e.operationKey.startsWith('subscription:sub-ops-1:'))).toBe(true);
    await expectInvariants(db);
  });
});

it('promote makes a user an admin of the console, safe to repeat; a dry run and demote change the role as they say', async () => {
  const roleOf = () => t.use(async (db) => (await db.select({ role: users.role }).from(users).where(eq(users.id, 'b')))[0]?.role);
  const preview = await runCli(['admin', 'promote', '--user', 'b@example.test', '--dry-run', '--json'], t.env);
  expect(preview.code, preview.stderr).toBe(0);
  expect(JSON.parse(preview.stdout)).toMatchObject({ ok: true, changed: true, dryRun: true });
  expect(await roleOf()).not.toBe('admin');

  const promoted = await runCli(['admin', 'promote', '--user', 'b@example.test', '--json'], t.env);
  expect(JSON.parse(promoted.stdout)).toMatchObject({ ok: true, changed: true, user: { id: 'b', role: 'admin' } });
  expect(await roleOf()).toBe('admin');
  const again = await runCli(['admin', 'promote', '--user', 'b', '--json'], t.env);
  expect(JSON.parse(again.stdout)).toMatchObject({ changed: false });

  const demoted = await runCli(['admin', 'demote', '--user', 'b'], t.env);
  expect(demoted.code, demoted.stderr).toBe(0);
  expect(demoted.stdout).toContain('no longer an admin');
  expect(await roleOf()).toBe('user');

  const unknown = await runCli(['admin', 'promote', '--user', 'nobody@example.test'], t.env);
  expect(unknown.code).toBe(2);
});

it('inspect user shows the credits held by work in progress and its open holds, so balance + held adds up to the totals', async () => {
  await t.use(async (db) => {
    await makeUser(db, { id: 'holder', now: at('2026-01-01T00:00:00Z') });
    await makeBatch(db, { userId: 'holder', amount: 25, now: at('2026-01-01T00:00:00Z') });
    const hold = await reserveCredits(db, { userId: 'holder', amount: 12, key: 'inspect-hold', ttlSeconds: 600 });
    expect(hold.ok).toBe(true);
  });
  const inspected = await runCli(['inspect', 'user', 'holder@example.test', '--json'], t.env);
  expect(inspected.code, inspected.stderr).toBe(0);
  const view = JSON.parse(inspected.stdout) as {
    balance: { balance: number; held: number; totalGranted: number; totalConsumed: number; totalExpired: number };
    openHolds: { key: string; amount: number }[];
  };
  expect(view.balance.held).toBe(12);
  expect(view.balance.balance + view.balance.held).toBe(view.balance.totalGranted - view.balance.totalConsumed - view.balance.totalExpired);
  expect(view.openHolds).toMatchObject([{ key: 'inspect-hold', amount: 12 }]);

  const human = await runCli(['inspect', 'user', 'holder'], t.env);
  expect(human.stdout).toMatch(/Balance \d+ \+ held 12/);
  expect(human.stdout).toContain('inspect-hold');
  await t.use((db) => expectInvariants(db));
});

it('a real void on a terminal asks first: "no" writes nothing (exit 1), "yes" voids', async () => {
  const jobId = await t.use(async (db) => {
    await makeUser(db, { id: 'tty-user' });
    const run = await grantMonthlyCredits(db, { trigger: 'test', now: new Date() });
    expect(run.results.successful).toBeGreaterThanOrEqual(1); // the new user, and any other not yet granted this month
    return run.jobId;
  });
  // `script` gives the command a terminal, as an operator's shell would; the answer is typed into it.
  const onTerminal = (answer: string) =>
    runShell(`printf '${answer}\\n' | script -qec "npm run -s credits -- admin void-run --job-run ${jobId}" /dev/null`, t.env);

  const refused = await onTerminal('no');
  expect(refused.stdout).toMatch(/Void \d+ credits from \d+ batches\? Type yes to go on:/);
  expect(refused.stdout).toContain('Not confirmed: nothing was written');
  expect(refused.code).toBe(1);
  expect(await t.use((db) => balanceOf(db, 'tty-user'))).toBe(50);

  const confirmed = await onTerminal('yes');
  expect(confirmed.code, confirmed.stdout).toBe(0);
  await t.use(async (db) => {
    expect(await balanceOf(db, 'tty-user')).toBe(0);
    await expectInvariants(db);
  });
});
