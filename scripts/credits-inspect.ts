// npm run credits:inspect -- runs | user <id|email> | overdue — read-only views for operators.
import { RUN_PRESUMED_DEAD_AFTER_MS } from '@/lib/server/credits/job-runner';
import { isJobName, jobNames } from '@/lib/server/jobs/catalog';
import { and, asc, count, desc, eq, isNotNull, lte, sql } from 'drizzle-orm';
import { creditBalances, creditBatches, creditLedger, creditSchedules, jobRuns, subscriptions, users } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { openDatabaseForScript, runMain } from './lib/cli';
import { intOption, parseCommandLine, usageError } from './lib/args';
import { resolveUser } from './lib/users';
import { printTable, type Cell } from './lib/table';

const HELP = `
Usage:
  npm run credits:inspect -- runs [--job ${jobNames.join('|')}] [--limit N]
  npm run credits:inspect -- user <id|email> [--limit N]
  npm run credits:inspect -- overdue [--limit N]

  runs      the last job runs of each job (default 10 per job), newest first: trigger, status,
            duration, counts, hasMore, error. A run still "running" after ${'15'} minutes is shown as
            STALE: its process died (a timeout, a crash, the database went away) before recording the end.
  user      one user's balance and totals, subscriptions, schedules, batches and latest ledger
            entries (default 50 of each)
  overdue   schedules whose next installment is due and not granted yet, oldest first (default 50)

Options:
  --job NAME    runs: one job only
  --limit N     rows per section
  --json        print JSON instead of tables
  -h, --help    this help
`;

type Ctx = { db: Database; limit: number | undefined; json: boolean; now: Date };

function output(ctx: Ctx, title: string, rows: Record<string, Cell>[], data: unknown = rows) {
  if (ctx.json) return data;
  console.log(`\n${title}`);
  printTable(rows);
  return data;
}

/** The counts of a run's results, without the per-schedule list. */
function countsOf(results: Record<string, unknown> | null): string {
  if (!results) return '';
  return Object.entries(results)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

async function showRuns(ctx: Ctx, job: string | undefined) {
  if (job !== undefined && !isJobName(job)) usageError(`Unknown job "${job}" (${jobNames.join(', ')})`);
  const jobs = job ? [job] : jobNames;
  const all: Record<string, unknown[]> = {};
  for (const name of jobs) {
    const runs = await ctx.db
      .select()
      .from(jobRuns)
      .where(eq(jobRuns.job, name))
      .orderBy(desc(jobRuns.startedAt))
      .limit(ctx.limit ?? 10);
    const rows = runs.map((run) => {
      const stale = run.status === 'running' && ctx.now.getTime() - run.startedAt.getTime() > RUN_PRESUMED_DEAD_AFTER_MS;
      return {
        started: run.startedAt,
        status: stale ? 'STALE running' : run.status,
        trigger: run.trigger,
        dryRun: run.dryRun ? 'dry' : '',
        ms: run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null,
        date: run.referenceDate,
        counts: countsOf(run.results),
        hasMore: run.hasMore,
        id: run.id,
        error: run.error ? run.error.slice(0, 80) : null,
      };
    });
    all[name] = output(ctx, `Job runs: ${name}`, rows, rows) as unknown[];
  }
  return all;
}

async function showUser(ctx: Ctx, idOrEmail: string | undefined) {
  if (!idOrEmail) usageError('user needs a user id or e-mail');
  const user = await resolveUser(ctx.db, idOrEmail);
  const limit = ctx.limit ?? 50;
  const [balance] = await ctx.db.select().from(creditBalances).where(eq(creditBalances.userId, user.id));
  const subs = await ctx.db.select().from(subscriptions).where(eq(subscriptions.userId, user.id)).orderBy(asc(subscriptions.createdAt));
  const schedules = await ctx.db
    .select()
    .from(creditSchedules)
    .where(eq(creditSchedules.userId, user.id))
    .orderBy(asc(creditSchedules.createdAt));
  const [{ n: batchCount } = { n: 0 }] = await ctx.db.select({ n: count() }).from(creditBatches).where(eq(creditBatches.userId, user.id));
  const batches = await ctx.db
    .select()
    .from(creditBatches)
    .where(eq(creditBatches.userId, user.id))
    .orderBy(desc(creditBatches.id))
    .limit(limit);
  const ledger = await ctx.db
    .select()
    .from(creditLedger)
    .where(eq(creditLedger.userId, user.id))
    .orderBy(desc(creditLedger.id))
    .limit(limit);
  if (ctx.json) return { user, balance: balance ?? null, subscriptions: subs, schedules, batchCount, batches, ledger };

  console.log(`\nUser ${user.id}  ${user.email}  (${user.name}, created ${user.createdAt.toISOString()})`);
  console.log(
    balance
      ? `Balance ${balance.balance}  (granted ${balance.totalGranted} - consumed ${balance.totalConsumed} - expired ${balance.totalExpired})`
      : 'Balance 0 (no balance row yet)',
  );
  output(
    ctx,
    'Subscriptions',
    subs.map((s) => ({ id: s.id, plan: s.planId, billing: s.billing, status: s.status, anchor: s.anchorAt, canceled: s.canceledAt })),
  );
  output(
    ctx,
    'Schedules',
    schedules.map((s) => ({
      id: s.id,
      plan: s.planId,
      status: s.status,
      installments: `${s.installmentsDone}/${s.installmentsTotal}`,
      credits: `${s.creditsGranted}/${s.creditsTotal}`,
      nextDue: s.nextDueAt,
    })),
  );
  output(
    ctx,
    `Batches (${batches.length} of ${batchCount}, newest first)`,
    batches.map((b) => ({
      id: b.id,
      source: b.source,
      category: b.category,
      amount: b.amount,
      remaining: b.remaining,
      effective: b.effectiveAt,
      expires: b.expiresAt,
      state: b.expiredAt
        ? `expired (lost ${b.expiredAmount})`
        : b.expiresAt && b.expiresAt <= ctx.now
          ? 'due to expire'
          : b.remaining === 0
            ? 'spent'
            : 'live',
      key: b.idempotencyKey,
    })),
  );
  output(
    ctx,
    `Ledger (latest ${ledger.length}, newest first)`,
    ledger.map((e) => ({
      id: e.id,
      at: e.createdAt,
      kind: e.kind,
      delta: e.delta > 0 ? `+${e.delta}` : e.delta,
      balanceAfter: e.balanceAfter,
      batch: e.batchId,
      key: e.operationKey,
      reason: typeof e.metadata?.reason === 'string' ? e.metadata.reason : null,
    })),
  );
  return null;
}

async function showOverdue(ctx: Ctx) {
  const due = and(eq(creditSchedules.status, 'active'), isNotNull(creditSchedules.nextDueAt), lte(creditSchedules.nextDueAt, ctx.now));
  const [{ n: total } = { n: 0 }] = await ctx.db.select({ n: count() }).from(creditSchedules).where(due);
  const now = ctx.now.toISOString();
  const rows = await ctx.db
    .select({
      schedule: creditSchedules.id,
      email: users.email,
      plan: creditSchedules.planId,
      installments: sql<string>`${creditSchedules.installmentsDone} || '/' || ${creditSchedules.installmentsTotal}`,
      nextDue: creditSchedules.nextDueAt,
      daysLate: sql<number>`floor(extract(epoch from (${now}::timestamptz - ${creditSchedules.nextDueAt})) / 86400)::int`,
      installmentsDue: sql<number>`(select count(*)::int from generate_series(${creditSchedules.installmentsDone} + 1, ${creditSchedules.installmentsTotal}) n
        where ${creditSchedules.anchorAt} + make_interval(months => (n - 1) * ${creditSchedules.intervalMonths}) <= ${now}::timestamptz)`,
    })
    .from(creditSchedules)
    .innerJoin(users, eq(users.id, creditSchedules.userId))
    .where(due)
    .orderBy(asc(creditSchedules.nextDueAt), asc(creditSchedules.id))
    .limit(ctx.limit ?? 50);
  if (ctx.json) return { total, schedules: rows };
  output(ctx, `Overdue schedules: ${total} (oldest first${total > rows.length ? `, first ${rows.length} shown` : ''})`, rows);
  if (total > 0)
    console.log(
      '\nRun the installment job: npm run jobs -- subscription-grants (it catches up to 12 installments per schedule per call; --catch-up 36 for more)',
    );
  return null;
}

runMain(async () => {
  const { values, positionals } = parseCommandLine({ job: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } }, HELP);
  const [view, arg, extra] = positionals;
  if (!view) usageError('Name a view: runs, user <id|email> or overdue');
  if (!['runs', 'user', 'overdue'].includes(view)) usageError(`Unknown view "${view}" (runs, user or overdue)`);
  if (extra !== undefined || (view !== 'user' && arg !== undefined)) usageError(`Unexpected argument "${extra ?? arg}"`);
  if (values.job !== undefined && view !== 'runs') usageError('--job applies to runs only');
  const limit = intOption(values.limit, 'limit', { max: 10_000 });
  const handle = await openDatabaseForScript();
  try {
    const ctx: Ctx = { db: handle.db, limit, json: values.json ?? false, now: new Date() };
    const data = view === 'runs' ? await showRuns(ctx, values.job) : view === 'user' ? await showUser(ctx, arg) : await showOverdue(ctx);
    if (ctx.json) console.log(JSON.stringify(data, null, 2));
  } finally {
    await handle.close();
  }
});
