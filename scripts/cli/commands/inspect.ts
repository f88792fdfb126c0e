// credits inspect runs | run <id> | user | overdue — read-only views for operators.
import { Command, Option } from 'commander';
import { and, asc, count, desc, eq, inArray, isNotNull, lte, sql } from 'drizzle-orm';
import { RUN_PRESUMED_DEAD_AFTER_MS } from '@/lib/server/credits/job-runner';
import { jobNames } from '@/lib/server/jobs/catalog';
import {
  creditBalances,
  creditBatches,
  creditHolds,
  creditLedger,
  creditSchedules,
  creditTakeBacks,
  jobRuns,
  subscriptions,
  users,
  type CreditBatch,
  type JobRun,
} from '@/lib/server/db/schema';
import { queryRows } from '@/lib/server/db/sql';
import type { Database } from '@/lib/server/db/types';
import { resolveUser, withDatabase } from '../database';
import { createOutput, usageError, type Output } from '../io';
import { wholeNumber } from '../options';
import { printTable, type Cell } from '../../lib/table';
import { readOnly } from './read-only';

type Ctx = { db: Database; limit: number | undefined; out: Output; now: Date };
type ViewOptions = { limit?: number; json?: boolean };

function section(ctx: Ctx, title: string, rows: Record<string, Cell>[]) {
  ctx.out.line(`\n${title}`);
  printTable(rows, ctx.out.line);
}

/** The counts of a run's results, without the per-schedule list. */
function countsOf(results: Record<string, unknown> | null): string {
  if (!results) return '';
  return Object.entries(results)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** The ids among `runIds` that a void has taken credits back from. */
async function voidedRuns(db: Database, runIds: string[]): Promise<Set<string>> {
  if (runIds.length === 0) return new Set();
  const rows = await queryRows<{ id: string }>(
    db,
    sql`select distinct metadata->>'voidedJobRunId' as id from credit_ledger
         where kind = 'void' and metadata->>'voidedJobRunId' in (select value from jsonb_array_elements_text(${JSON.stringify(runIds)}::jsonb))`,
  );
  return new Set(rows.map((row) => row.id));
}

/** A run's status as an operator needs it: a run nobody finished is STALE; a voided one says so. */
function statusOf(run: JobRun, voided: Set<string>, now: Date): string {
  if (run.status === 'running' && now.getTime() - run.startedAt.getTime() > RUN_PRESUMED_DEAD_AFTER_MS) return 'STALE running';
  return voided.has(run.id) ? `${run.status}, voided` : run.status;
}

async function showRuns(ctx: Ctx, job: string | undefined) {
  const all: Record<string, unknown[]> = {};
  for (const name of job ? [job as JobRun['job']] : jobNames) {
    const runs = await ctx.db
      .select()
      .from(jobRuns)
      .where(eq(jobRuns.job, name))
      .orderBy(desc(jobRuns.startedAt))
      .limit(ctx.limit ?? 10);
    const voided = await voidedRuns(
      ctx.db,
      runs.map((run) => run.id),
    );
    const rows = runs.map((run) => ({
      started: run.startedAt,
      status: statusOf(run, voided, ctx.now),
      trigger: run.trigger,
      dryRun: run.dryRun ? 'dry' : '',
      ms: run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null,
      date: run.referenceDate,
      counts: countsOf(run.results),
      hasMore: run.hasMore,
      id: run.id,
      // The whole error: `credits inspect run <id>` shows it on its own line when it is long.
      error: run.error,
    }));
    all[name] = rows;
    if (!ctx.out.json) section(ctx, `Job runs: ${name}`, rows);
  }
  ctx.out.result(all);
}

function batchState(batch: CreditBatch, voided: Set<number>, now: Date): string {
  if (batch.expiredAt) return `expired (lost ${batch.expiredAmount})`;
  if (voided.has(batch.id)) return 'voided';
  if (batch.expiresAt && batch.expiresAt <= now) return 'due to expire';
  return batch.remaining === 0 ? 'spent' : 'live';
}

/** The batches among `batchIds` that lost credits to a void (a voided batch is not a spent one). */
async function voidedBatches(db: Database, batchIds: number[]): Promise<Set<number>> {
  if (batchIds.length === 0) return new Set();
  const rows = await db
    .selectDistinct({ id: creditLedger.batchId })
    .from(creditLedger)
    .where(and(eq(creditLedger.kind, 'void'), inArray(creditLedger.batchId, batchIds)));
  return new Set(rows.map((row) => row.id!));
}

async function showRun(ctx: Ctx, id: string) {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) usageError(`"${id}" is not a job run id (a UUID)`);
  const [run] = await ctx.db.select().from(jobRuns).where(eq(jobRuns.id, id));
  if (!run) return usageError(`No job run "${id}"`);
  const voided = await voidedRuns(ctx.db, [run.id]);
  const [granted] = await queryRows<{ batches: number; users: number; credits: number; remaining: number }>(
    ctx.db,
    sql`select count(*)::int as batches, count(distinct user_id)::int as users, coalesce(sum(amount), 0)::bigint as credits,
               coalesce(sum(remaining), 0)::bigint as remaining
          from credit_batches where job_run_id = ${run.id}::uuid`,
  );
  const [entries] = await queryRows<{ entries: number; users: number; delta: number }>(
    ctx.db,
    sql`select count(*)::int as entries, count(distinct user_id)::int as users, coalesce(sum(delta), 0)::bigint as delta
          from credit_ledger where job_run_id = ${run.id}::uuid`,
  );
  const [voids] = await queryRows<{ entries: number; users: number; credits: number }>(
    ctx.db,
    sql`select count(*)::int as entries, count(distinct user_id)::int as users, coalesce(-sum(delta), 0)::bigint as credits
          from credit_ledger where kind = 'void' and metadata->>'voidedJobRunId' = ${run.id}`,
  );
  const batches = await ctx.db
    .select({ batch: creditBatches, email: users.email })
    .from(creditBatches)
    .innerJoin(users, eq(users.id, creditBatches.userId))
    .where(eq(creditBatches.jobRunId, run.id))
    .orderBy(asc(creditBatches.userId), asc(creditBatches.id))
    .limit(ctx.limit ?? 20);
  const voidedIds = await voidedBatches(
    ctx.db,
    batches.map((b) => b.batch.id),
  );
  const wrote = {
    batches: batches.map(({ batch, email }) => ({
      id: batch.id,
      user: email,
      source: batch.source,
      amount: batch.amount,
      remaining: batch.remaining,
      state: batchState(batch, voidedIds, ctx.now),
      key: batch.idempotencyKey,
    })),
    totals: { granted: granted!, ledgerEntries: entries!, voided: voids! },
  };
  const status = statusOf(run, voided, ctx.now);
  ctx.out.result({ ...run, status, voided: voided.has(run.id), wrote }, () => {
    const o = ctx.out;
    o.line(`Job run ${run.id}: ${run.job}, ${status}${run.dryRun ? ' (dry run: nothing was kept)' : ''}`);
    o.line(`  trigger ${run.trigger}, started ${run.startedAt.toISOString()}, finished ${run.finishedAt?.toISOString() ?? '-'}`);
    if (run.referenceDate) o.line(`  date ${run.referenceDate}`);
    o.line(`  parameters ${JSON.stringify(run.params)}`);
    o.line(`  results ${JSON.stringify(run.results)}`);
    o.line(`  hasMore ${run.hasMore}${run.cursor ? `, stopped after ${run.cursor}` : ''}`);
    if (run.error) o.line(`  error:\n${run.error}`);
    const g = granted!;
    o.line(`\nWrote: ${g.batches} batch(es) of ${g.credits} credits to ${g.users} user(s), ${g.remaining} still unspent`);
    o.line(`       ${entries!.entries} ledger entr(ies) moving ${entries!.delta} credits for ${entries!.users} user(s)`);
    if (voids!.entries > 0) o.line(`Voided: ${voids!.credits} credits from ${voids!.entries} batch(es) of ${voids!.users} user(s)`);
    if (wrote.batches.length) section(ctx, `Batches (${wrote.batches.length} of ${g.batches})`, wrote.batches);
  });
}

async function showUser(ctx: Ctx, idOrEmail: string) {
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
  const voided = await voidedBatches(
    ctx.db,
    batches.map((b) => b.id),
  );
  const withState = batches.map((b) => ({ ...b, state: batchState(b, voided, ctx.now) }));
  // Credits held by work in progress are out of the balance but still the user's: balance + held = the totals.
  const openHolds = await ctx.db
    .select()
    .from(creditHolds)
    .where(and(eq(creditHolds.userId, user.id), eq(creditHolds.status, 'held')))
    .orderBy(asc(creditHolds.expiresAt));
  const takeBacks = await ctx.db
    .select()
    .from(creditTakeBacks)
    .where(and(eq(creditTakeBacks.userId, user.id), sql`${creditTakeBacks.pending} > 0`))
    .orderBy(asc(creditTakeBacks.id));
  const result = {
    user,
    balance: balance ?? null,
    openHolds,
    takeBacks,
    subscriptions: subs,
    schedules,
    batchCount,
    batches: withState,
    ledger,
  };
  ctx.out.result(result, () => {
    ctx.out.line(`User ${user.id}  ${user.email}  (${user.name}, created ${user.createdAt.toISOString()})`);
    ctx.out.line(
      balance
        ? `Balance ${balance.balance} + held ${balance.held}  (granted ${balance.totalGranted} - consumed ${balance.totalConsumed} - expired ${balance.totalExpired})`
        : 'Balance 0 (no balance row yet)',
    );
    if (openHolds.length > 0)
      section(
        ctx,
        'Open holds (work in progress; released by the expire job or the next spend once timed out)',
        openHolds.map((h) => ({ key: h.key, amount: h.amount, reason: h.reason, created: h.createdAt, expires: h.expiresAt })),
      );
    if (takeBacks.length > 0)
      section(
        ctx,
        'Owed by refunds and voids (taken back when the hold holding them is released)',
        takeBacks.map((t) => ({ batch: t.batchId, kind: t.kind, operation: t.operationKey, owed: t.amount, pending: t.pending })),
      );
    section(
      ctx,
      'Subscriptions',
      subs.map((s) => ({ id: s.id, plan: s.planId, billing: s.billing, status: s.status, anchor: s.anchorAt, canceled: s.canceledAt })),
    );
    section(
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
    section(
      ctx,
      `Batches (${batches.length} of ${batchCount}, newest first)`,
      withState.map((b) => ({
        id: b.id,
        source: b.source,
        category: b.category,
        amount: b.amount,
        remaining: b.remaining,
        effective: b.effectiveAt,
        expires: b.expiresAt,
        state: b.state,
        key: b.idempotencyKey,
      })),
    );
    section(
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
  });
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
  ctx.out.result({ total, schedules: rows }, () => {
    section(ctx, `Overdue schedules: ${total} (oldest first${total > rows.length ? `, first ${rows.length} shown` : ''})`, rows);
    if (total > 0)
      ctx.out.line(
        '\nRun the installment job: npm run -s credits -- jobs subscription-grants (12 installments per schedule per call; --catch-up 36 for more)',
      );
  });
}

const view = (parent: Command, name: string, description: string) =>
  readOnly(
    parent
      .command(name)
      .description(description)
      .option('--limit <n>', 'rows per section', wholeNumber(1, 10_000))
      .option('--json', 'print everything as one JSON document on stdout'),
  );

const withView = <A extends unknown[]>(o: ViewOptions, show: (ctx: Ctx, ...args: A) => Promise<void>, ...args: A) =>
  withDatabase((db) => show({ db, limit: o.limit, out: createOutput(o.json ?? false), now: new Date() }, ...args));

export function inspectCommand(program: Command) {
  const inspect = program.command('inspect').description('read-only views: job runs, one run, one user, overdue schedules');
  view(inspect, 'runs', 'the last job runs of each job (default 10 per job), newest first; a run still running after 15 minutes is STALE')
    .addOption(new Option('--job <name>', 'one job only').choices(jobNames))
    .action((o: ViewOptions & { job?: string }) => withView(o, showRuns, o.job));
  view(inspect, 'run', 'one job run: parameters, results, status (voided included), its error in full, and what it wrote')
    .argument('<id>', 'the job run id')
    .action((id: string, o: ViewOptions) => withView(o, showRun, id));
  view(inspect, 'user', "one user's balance and totals, subscriptions, schedules, batches and latest ledger entries (default 50 of each)")
    .argument('[id|email]', 'the user (or --user)')
    .option('--user <id|email>', 'the user')
    .action((positional: string | undefined, o: ViewOptions & { user?: string }) => {
      const who = o.user ?? positional;
      if (who === undefined) usageError('inspect user needs a user: --user <id|email>');
      if (o.user !== undefined && positional !== undefined) usageError('name the user once: --user or an argument, not both');
      return withView(o, showUser, who!);
    });
  view(inspect, 'overdue', 'schedules whose next installment is due and not granted yet, oldest first (default 50)').action(
    (o: ViewOptions) => withView(o, showOverdue),
  );
  return inspect;
}
