// credits admin … — an operator's corrections, through the same usecases as the app: every change
// keyed and recorded in the ledger with a reason and who made it. Every one takes --dry-run, which
// does the change in a transaction that is rolled back and shows what it would write.
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import { eq, sql } from 'drizzle-orm';
import { creditsConfig } from '@/config/credits';
import { env } from '@/env';
import { DRY_RUN_PREVIEW_SIZE, jobTransaction } from '@/lib/server/credits/job-runner';
import { planInForceAt } from '@/lib/server/credits/plans-in-force';
import { subscriptions } from '@/lib/server/db/schema';
import { queryRows } from '@/lib/server/db/sql';
import type { Database } from '@/lib/server/db/types';
import { adjustCredits } from '@/lib/server/usecases/adjust-credits';
import { cancelSubscription } from '@/lib/server/usecases/cancel-subscription';
import { startSubscription } from '@/lib/server/usecases/start-subscription';
import { setUserRole } from '@/lib/server/usecases/set-user-role';
import { voidJobRun, type VoidJobRunResult } from '@/lib/server/usecases/void-job-run';
import { resolveUser, withDatabase } from '../database';
import { confirm, createOutput, exitCodes, fail, requireTerminalOrYes, type Output } from '../io';
import { nonEmpty, wholeNumber } from '../options';
import { printTable } from '../../lib/table';

/** Who ran the command, kept in the ledger entry's metadata. */
const actor = () => `cli:${process.env.SUDO_USER ?? safeUsername()}`;
function safeUsername() {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

const dryRunOption = () => new Option('--dry-run', 'show what it would write, and write nothing');
const jsonOption = () => new Option('--json', 'print the result as one JSON document on stdout (human lines on stderr)');

/**
 * Runs `change` and rolls it back when `dryRun`: the same code and the same checks as the real
 * change, so the preview is what it would do (a refusal included), and nothing is kept.
 */
function changeOrPreview<T>(db: Database, dryRun: boolean, change: (tx: Database) => Promise<T>): Promise<T> {
  return dryRun ? jobTransaction(db, { dryRun: true }, change) : change(db);
}

type AdjustOptions = {
  user: string;
  amount: number;
  reason: string;
  key?: string;
  expiresInDays?: number;
  category?: 'paid' | 'promotional';
  dryRun?: boolean;
  json?: boolean;
};

/** The batches an operation's entries touched, for a preview or a receipt: first N, by id. */
async function batchesTouched(db: Database, operationKey: string) {
  return queryRows<{ batchId: number; source: string; delta: number; remaining: number; expiresAt: string | null }>(
    db,
    sql`select b.id as "batchId", b.source, l.delta::int as delta, b.remaining::int as remaining, b.expires_at as "expiresAt"
          from credit_ledger l join credit_batches b on b.id = l.batch_id
         where l.operation_key = ${operationKey} order by b.id limit ${DRY_RUN_PREVIEW_SIZE}`,
  );
}

async function adjust(direction: 'grant' | 'deduct', o: AdjustOptions) {
  const out = createOutput(o.json ?? false);
  const dryRun = o.dryRun ?? false;
  const key = o.key ?? `admin:${direction}:${randomUUID()}`;
  await withDatabase(async (db) => {
    const user = await resolveUser(db, o.user);
    const { result, batches } = await changeOrPreview(db, dryRun, async (tx) => {
      const result = await adjustCredits(tx, {
        userId: user.id,
        delta: direction === 'grant' ? o.amount : -o.amount,
        reason: o.reason,
        idempotencyKey: key,
        validityDays: o.expiresInDays ?? null,
        category: o.category,
        actor: actor(),
      });
      return { result, batches: result.ok ? await batchesTouched(tx, key) : [] };
    });
    if (!result.ok) {
      if (result.reason === 'insufficient_credits') {
        fail(
          `User ${user.email} has ${result.available} spendable credits, fewer than the ${result.requested} to deduct: nothing was taken`,
        );
      }
      fail(`${direction} refused (${result.reason}): ${'message' in result ? result.message : ''}`);
    }
    const done = direction === 'grant' ? 'Granted' : 'Deducted';
    out.result({ ...result, dryRun, key, user: { id: user.id, email: user.email }, batches }, () => {
      const to = direction === 'grant' ? 'to' : 'from';
      out.line(
        dryRun
          ? `Dry run: would ${direction} ${o.amount} credits ${to} ${user.email}; nothing was written`
          : `✔ ${done} ${o.amount} credits ${to} ${user.email}${result.replayed ? ' (replayed: this key was already used; nothing changed)' : ''}. Key: ${key}`,
      );
      if ('balanceAfter' in result) out.line(`  balance after: ${result.balanceAfter}`);
      if (batches.length) {
        out.line(`  batches ${dryRun ? 'it would touch' : 'touched'}:`);
        printTable(batches, out.line);
      }
    });
  });
}

async function subscribe(o: { user: string; plan: string; subscriptionId: string; force?: boolean; dryRun?: boolean; json?: boolean }) {
  const out = createOutput(o.json ?? false);
  const dryRun = o.dryRun ?? false;
  await withDatabase(async (db) => {
    const user = await resolveUser(db, o.user);
    // A plan in force now (a yearly plan whose term is over is not: starting a new term is a renewal).
    const active = (await db.select().from(subscriptions).where(eq(subscriptions.userId, user.id))).find((sub) =>
      planInForceAt(sub, new Date()),
    );
    if (active && !o.force && active.id !== o.subscriptionId) {
      fail(
        `User ${user.email} already has an active ${active.planId} subscription (${active.id}); cancel it first, or pass --force for a second plan`,
      );
    }
    // The id is the start's idempotency key: the same command run twice starts one subscription.
    const result = await changeOrPreview(db, dryRun, (tx) =>
      startSubscription(tx, { userId: user.id, planId: o.plan, subscriptionId: o.subscriptionId }),
    );
    if (!result.ok) fail(result.message);
    out.result({ ...result, dryRun }, () =>
      out.line(
        `${dryRun ? 'Dry run: would start' : result.replayed ? '✔ Subscription already existed:' : '✔ Started'} ${o.plan} for ${user.email}: subscription ${result.subscription.id}`,
      ),
    );
  });
}

async function cancel(o: { subscription: string; dryRun?: boolean; json?: boolean }) {
  const out = createOutput(o.json ?? false);
  const dryRun = o.dryRun ?? false;
  await withDatabase(async (db) => {
    const result = await changeOrPreview(db, dryRun, (tx) => cancelSubscription(tx, { subscriptionId: o.subscription }));
    if (!result.ok) fail(result.message);
    out.result({ ...result, dryRun }, () =>
      out.line(
        `${dryRun ? 'Dry run: would cancel' : result.replayed ? '✔ Already canceled:' : '✔ Canceled'} subscription ${o.subscription}: no further grants or installments; granted credits stay until they expire`,
      ),
    );
  });
}

/** `admin promote` / `admin demote`: the console's admin role, through the usecase `ADMIN_EMAILS` and the console use. */
async function setRole(role: 'admin' | 'user', o: { user: string; dryRun?: boolean; json?: boolean }) {
  const out = createOutput(o.json ?? false);
  const dryRun = o.dryRun ?? false;
  await withDatabase(async (db) => {
    const user = await resolveUser(db, o.user);
    const result = await changeOrPreview(db, dryRun, (tx) => setUserRole(tx, { user: user.id, role }));
    if (!result.ok) fail(result.message);
    const what = role === 'admin' ? 'an admin of the console' : 'no longer an admin';
    out.result({ ...result, dryRun }, () =>
      out.line(
        dryRun
          ? `Dry run: ${result.user.email} would be ${what}${result.changed ? '' : ' (already so: nothing to change)'}`
          : result.changed
            ? `✔ ${result.user.email} is now ${what}`
            : `✔ ${result.user.email} was already ${what}: nothing changed`,
      ),
    );
  });
}

type VoidOptions = { jobRun: string; user?: string; reason?: string; dryRun?: boolean; force?: boolean; yes?: boolean; json?: boolean };

async function voidRun(o: VoidOptions) {
  const out = createOutput(o.json ?? false);
  if (!o.dryRun && !o.yes) requireTerminalOrYes('A real void');
  await withDatabase(async (db) => {
    const userId = o.user === undefined ? undefined : (await resolveUser(db, o.user)).id;
    const params = {
      jobRunId: o.jobRun,
      userId,
      force: o.force ?? false,
      reason: o.reason,
      actor: actor(),
      chunkSize: env().CREDITS_CHUNK_SIZE,
      previewSize: DRY_RUN_PREVIEW_SIZE,
      onChunk: (p: { users: number; batches: number; voidedAmount: number }) =>
        out.progress(`[void-run] users ${p.users}, batches ${p.batches}, credits ${p.voidedAmount}`),
    };
    const scope = o.user === undefined ? '' : ` (user ${o.user} only)`;
    // A preview for a dry run, and before the question on a terminal; `--yes` goes straight to the void.
    if (o.dryRun || !o.yes) {
      const preview = await voidJobRun(db, { ...params, dryRun: true });
      if (!preview.ok) return refuse(preview);
      if (o.dryRun) return out.result(preview, () => describePreview(out, preview, scope));
      describePreview(createOutput(true), preview, scope); // on the terminal (stderr), before the question
      await confirm(`Void ${preview.results.voidedAmount} credits from ${preview.results.batches} batches?`, 'A real void');
    }
    const result = await voidJobRun(db, { ...params, dryRun: false });
    if (!result.ok) return refuse(result);
    const r = result.results;
    out.result(result, () =>
      out.line(
        result.replayed
          ? `✔ Already voided: ${result.job} run ${o.jobRun}${scope} had ${r.voidedAmount} credits taken from ${r.batches} batches of ${r.users} users; nothing more to take`
          : `✔ Voided ${result.job} run ${o.jobRun}${scope}: ${r.voidedAmount} credits taken from ${r.batches} batches of ${r.users} users` +
              (r.batches === 0 ? ' (nothing left to void: spent or expired)' : ''),
      ),
    );
  });
}

/** A run that does not exist (or is no id) was named wrongly: a usage error. A run still in progress is a refusal. */
function refuse(result: Extract<VoidJobRunResult, { ok: false }>): never {
  return fail(result.message, result.reason === 'not_found' || result.reason === 'invalid_job_run_id' ? exitCodes.usage : exitCodes.failed);
}

function describePreview(out: Output, preview: Extract<VoidJobRunResult, { ok: true }>, scope: string) {
  const r = preview.results;
  out.line(
    `Dry run: voiding ${preview.job} run ${preview.jobRunId}${scope} would take ${r.voidedAmount} credits from ${r.batches} batches of ${r.users} users`,
  );
  if (preview.preview?.length) {
    out.line(`  ${preview.preview.length < r.batches ? `first ${preview.preview.length} of ${r.batches} batches` : 'batches'}:`);
    printTable(preview.preview, out.line);
  }
}

export function adminCommand(program: Command) {
  const admin = program.command('admin').description("an operator's corrections: grant, deduct, subscribe, cancel, void-run");
  const plans = creditsConfig.plans.map((p) => p.id);

  const adjustment = (direction: 'grant' | 'deduct') =>
    admin
      .command(direction)
      .requiredOption('--user <id|email>', 'the user')
      .requiredOption('--amount <n>', 'credits', wholeNumber(1, 1_000_000_000))
      .requiredOption('--reason <text>', "why; kept in the ledger entry's metadata with who ran the command", nonEmpty)
      .option('--key <key>', 'idempotency key: the same key again changes nothing (default: a new one, printed, to reuse on a retry)');

  adjustment('grant')
    .description('give credits: a new batch (source "admin"), never expiring unless --expires-in-days; promotional unless --category paid')
    .option('--expires-in-days <n>', 'days until the credits expire', wholeNumber(1, 36_500))
    .addOption(new Option('--category <category>', 'paid or promotional').choices(['paid', 'promotional']))
    .addOption(dryRunOption())
    .addOption(jsonOption())
    .action((o: AdjustOptions) => adjust('grant', o));

  adjustment('deduct')
    .description('take credits back in burn-down order (soonest expiry first); refused if the user has fewer spendable credits')
    .addOption(dryRunOption())
    .addOption(jsonOption())
    .action((o: AdjustOptions) => adjust('deduct', o));

  admin
    .command('subscribe')
    .description("start a plan for a user, as a payment provider's webhook would, and grant what is due at once")
    .requiredOption('--user <id|email>', 'the user')
    .addOption(new Option('--plan <plan>', 'the plan').choices(plans).makeOptionMandatory())
    .requiredOption('--subscription-id <id>', "the start's idempotency key (the provider's id, or a ticket number)", nonEmpty)
    .option('--force', 'start it although the user already has an active plan')
    .addOption(dryRunOption())
    .addOption(jsonOption())
    .action(subscribe);

  admin
    .command('cancel')
    .description('stop every future grant and installment of a subscription; what was granted stays')
    .requiredOption('--subscription <id>', 'the subscription id')
    .addOption(dryRunOption())
    .addOption(jsonOption())
    .action(cancel);

  admin
    .command('void-run')
    .description('take back what a grant or subscription-grants run granted and nobody has spent yet (safe to repeat)')
    .requiredOption('--job-run <id>', 'the job run (credits inspect runs)')
    .option('--user <id|email>', "void this user's batches of the run only")
    .option('--reason <text>', "why; kept in each void entry's metadata", nonEmpty)
    .option('--force', 'a run still marked running for more than 15 minutes (its process died) is marked failed and voided')
    .option('--yes', 'do not ask for confirmation (required when not on a terminal)')
    .addOption(dryRunOption())
    .addOption(jsonOption())
    .action(voidRun);

  admin
    .command('promote')
    .description('make a user an admin of the console (/admin); safe to repeat')
    .requiredOption('--user <id|email>', 'the user')
    .addOption(dryRunOption())
    .addOption(jsonOption())
    .action((o) => setRole('admin', o));

  admin
    .command('demote')
    .description("take a user's admin role away (an e-mail still in ADMIN_EMAILS gets it back at the next sign-in)")
    .requiredOption('--user <id|email>', 'the user')
    .addOption(dryRunOption())
    .addOption(jsonOption())
    .action((o) => setRole('user', o));

  return admin;
}
