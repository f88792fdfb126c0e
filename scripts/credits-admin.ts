// npm run credits:admin -- grant|deduct|subscribe|cancel|void-run — an operator's corrections,
// through the same usecases as the app (every change keyed, recorded in the ledger with a reason).
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { eq } from 'drizzle-orm';
import { creditsConfig } from '@/config/credits';
import { subscriptions } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';
import { adjustCredits } from '@/lib/server/usecases/adjust-credits';
import { planInForceAt } from '@/lib/server/credits/plans-in-force';
import { startSubscription } from '@/lib/server/usecases/start-subscription';
import { cancelSubscription } from '@/lib/server/usecases/cancel-subscription';
import { voidJobRun } from '@/lib/server/usecases/void-job-run';
import { env } from '@/env';
import { fail, openDatabaseForScript, runMain } from './lib/cli';
import { intOption, parseCommandLine, requireOption, usageError } from './lib/args';
import { resolveUser } from './lib/users';

const HELP = `
Usage:
  npm run credits:admin -- grant  --user ID|EMAIL --amount N --reason "…" [--key K] [--expires-in-days N] [--category paid|promotional]
  npm run credits:admin -- deduct --user ID|EMAIL --amount N --reason "…" [--key K]
  npm run credits:admin -- subscribe --user ID|EMAIL --plan PLAN --subscription-id ID [--force]
  npm run credits:admin -- cancel --subscription ID
  npm run credits:admin -- void-run --job-run ID [--reason "…"] [--dry-run] [--force]

  grant       gives credits: a new batch (source "admin", an "adjust" ledger entry with the reason).
              Never expires unless --expires-in-days; promotional unless --category paid.
  deduct      takes credits back in burn-down order (soonest expiry first); refused if the user
              has fewer spendable credits than --amount. Never goes below zero.
  subscribe   starts a plan for a user, as a payment provider's webhook would, and grants what is
              due at once. Refused when the user already has an active plan, unless --force.
  cancel      stops every future grant and installment of a subscription; what was granted stays.
  void-run    takes back what a grant or subscription-grants job run granted and nobody has spent
              yet ("void" ledger entries; no row is deleted). Safe to repeat: a second void changes nothing.

Options:
  --key K              idempotency key: the same key again changes nothing (default: a new one,
                       printed, so that a retry of a timed-out command can reuse it)
  --reason "…"         why; stored in the ledger entry's metadata with who ran the command
  --dry-run            void-run: report what would be voided, write nothing
  --force              void-run: a run still marked running for more than 15 minutes (its process died) is marked failed and voided
  -h, --help           this help

Plans: ${creditsConfig.plans.map((p) => p.id).join(', ')}
`;

const actor = () => `cli:${process.env.SUDO_USER ?? safeUsername()}`;
function safeUsername() {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

type Values = Partial<Record<string, string | boolean>>;

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

async function adjust(db: Database, command: 'grant' | 'deduct', v: Values) {
  const user = await resolveUser(db, requireOption(v.user as string | undefined, 'user'));
  const amount = intOption(requireOption(v.amount as string | undefined, 'amount'), 'amount', { max: 1_000_000_000 })!;
  const reason = requireOption(v.reason as string | undefined, 'reason');
  if (command === 'deduct' && (v['expires-in-days'] !== undefined || v.category !== undefined)) {
    usageError('--expires-in-days and --category apply to grant only');
  }
  const category = v.category as string | undefined;
  if (category !== undefined && category !== 'paid' && category !== 'promotional') usageError('--category must be paid or promotional');
  const key = (v.key as string | undefined) ?? `admin:${command}:${randomUUID()}`;
  const result = await adjustCredits(db, {
    userId: user.id,
    delta: command === 'grant' ? amount : -amount,
    reason,
    idempotencyKey: key,
    validityDays: intOption(v['expires-in-days'] as string | undefined, 'expires-in-days', { max: 36_500 }) ?? null,
    category: category as 'paid' | 'promotional' | undefined,
    actor: actor(),
  });
  if (!result.ok) {
    if (result.reason === 'insufficient_credits') {
      fail(`User ${user.email} has ${result.available} spendable credits, fewer than the ${result.requested} to deduct: nothing was taken`);
    }
    fail(`${command} refused (${result.reason}): ${'message' in result ? result.message : ''}`);
  }
  const replayed = result.replayed ? ' (replayed: this key was already used; nothing changed)' : '';
  console.log(
    `✔ ${command === 'grant' ? 'Granted' : 'Deducted'} ${amount} credits ${command === 'grant' ? 'to' : 'from'} ${user.email}${replayed}. Key: ${key}`,
  );
  print(result);
}

async function subscribe(db: Database, v: Values) {
  const user = await resolveUser(db, requireOption(v.user as string | undefined, 'user'));
  const planId = requireOption(v.plan as string | undefined, 'plan');
  // The id is the start's idempotency key: the same command run twice starts one subscription.
  const subscriptionId = requireOption(v['subscription-id'] as string | undefined, 'subscription-id');
  if (!creditsConfig.plans.some((p) => p.id === planId))
    usageError(`Unknown plan "${planId}" (${creditsConfig.plans.map((p) => p.id).join(', ')})`);
  // A plan in force now (a yearly plan whose term is over is not: starting a new term is a renewal).
  const active = (await db.select().from(subscriptions).where(eq(subscriptions.userId, user.id))).find((sub) =>
    planInForceAt(sub, new Date()),
  );
  if (active && !v.force && active.id !== v['subscription-id']) {
    fail(
      `User ${user.email} already has an active ${active.planId} subscription (${active.id}); cancel it first, or pass --force for a second plan`,
    );
  }
  const result = await startSubscription(db, { userId: user.id, planId, subscriptionId });
  if (!result.ok) fail(result.message);
  console.log(
    `✔ ${result.replayed ? 'Subscription already existed' : 'Started'} ${planId} for ${user.email}: subscription ${result.subscription.id}`,
  );
  print(result);
}

async function cancel(db: Database, v: Values) {
  const id = requireOption(v.subscription as string | undefined, 'subscription');
  const result = await cancelSubscription(db, { subscriptionId: id });
  if (!result.ok) fail(result.message);
  console.log(
    `✔ ${result.replayed ? 'Already canceled' : 'Canceled'} subscription ${id}: no further grants or installments; granted credits stay until they expire`,
  );
  print(result.subscription);
}

async function voidRun(db: Database, v: Values) {
  const jobRunId = requireOption(v['job-run'] as string | undefined, 'job-run');
  const result = await voidJobRun(db, {
    jobRunId,
    dryRun: Boolean(v['dry-run']),
    force: Boolean(v.force),
    reason: v.reason as string | undefined,
    actor: actor(),
    chunkSize: env().CREDITS_CHUNK_SIZE,
  });
  if (!result.ok) fail(result.message);
  const r = result.results;
  console.log(
    result.dryRun
      ? `Dry run: voiding ${result.job} run ${jobRunId} would take ${r.voidedAmount} credits from ${r.batches} batches of ${r.users} users`
      : result.replayed
        ? `✔ Already voided: ${result.job} run ${jobRunId} had ${r.voidedAmount} credits taken from ${r.batches} batches of ${r.users} users; nothing more to take`
        : `✔ Voided ${result.job} run ${jobRunId}: ${r.voidedAmount} credits taken from ${r.batches} batches of ${r.users} users` +
          (r.batches === 0 ? ' (nothing left to void: spent or expired)' : ''),
  );
  print(result);
}

runMain(async () => {
  const { values, positionals } = parseCommandLine(
    {
      user: { type: 'string' },
      amount: { type: 'string' },
      reason: { type: 'string' },
      key: { type: 'string' },
      'expires-in-days': { type: 'string' },
      category: { type: 'string' },
      plan: { type: 'string' },
      'subscription-id': { type: 'string' },
      subscription: { type: 'string' },
      'job-run': { type: 'string' },
      'dry-run': { type: 'boolean' },
      force: { type: 'boolean' },
    },
    HELP,
  );
  const [command, extra] = positionals;
  const commands = ['grant', 'deduct', 'subscribe', 'cancel', 'void-run'];
  if (!command) usageError(`Name a command: ${commands.join(', ')}`);
  if (!commands.includes(command)) usageError(`Unknown command "${command}" (${commands.join(', ')})`);
  if (extra !== undefined) usageError(`Unexpected argument "${extra}"`);
  const handle = await openDatabaseForScript();
  try {
    if (command === 'grant' || command === 'deduct') await adjust(handle.db, command, values);
    else if (command === 'subscribe') await subscribe(handle.db, values);
    else if (command === 'cancel') await cancel(handle.db, values);
    else await voidRun(handle.db, values);
  } finally {
    await handle.close();
  }
});
