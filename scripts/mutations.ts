// npm run test:mutations [-- --only NAME[,NAME…]] [--list] [--from-head] [--keep]
//
// Does the suite notice when a money rule breaks? Each mutation below changes one rule in `src/`,
// in a scratch copy of the repository (this working tree is never touched), runs the tests that
// guard that rule, and reports which of them failed. A mutation must be caught by at least two
// tests; the script exits 1 if one is caught by fewer, or if its pattern no longer matches the
// source exactly once (the code moved on: update the table, do not delete the mutation).
// Not part of CI: it takes a few minutes, and the balance-lock mutations need a Postgres server
// (TEST_DATABASE_URL), because only concurrent transactions show a missing lock.
// See docs/testing.md.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

type Mutation = {
  /** Short, stable name (used by --only). */
  name: string;
  /** The rule the mutation breaks, as a sentence. */
  breaks: string;
  file: string;
  /** Text that must occur exactly once in `file`; it is replaced by `replace`. */
  find: string;
  replace: string;
  /** Test files that guard the rule (run with the default vitest config). */
  tests: string[];
  /** Only a Postgres server shows it (concurrent transactions): needs TEST_DATABASE_URL. */
  needsServer?: boolean;
};

// ---------------------------------------------------------------------------------------------
// The mutations. `src/` changes: when a pattern stops matching, the run says which one; update
// `find`/`replace` here to the new code, keeping the rule each one breaks.
// ---------------------------------------------------------------------------------------------
const BURN_DOWN_ORDER = "order by expires_at asc nulls last, (category = 'paid'), effective_at, id";
// The debit's two paths: the database function the usecases call (migration 0005; its burn-down
// order and its balance lock are in 0010 since holds, which replaces credits_debit and takes batches
// through credits_burn_down), and the five-round-trip path kept as the bench's baseline. The tests run
// every consumption rule on both, so each mutation is applied to each path.
const DEBIT_FUNCTION = 'drizzle/0005_spend_in_one_round_trip.sql';
const DEBIT_IN_STEPS = 'src/lib/server/credits/debit-in-steps.ts';
// Holds (reserve, capture, release): the database functions of migration 0010.
const HOLD_FUNCTIONS = 'drizzle/0010_hold_functions.sql';
const HOLD_TESTS = [
  'tests/lib/server/usecases/reserve-credits.test.ts',
  'tests/lib/server/usecases/capture-credits.test.ts',
  'tests/lib/server/usecases/release-credits.test.ts',
  'tests/lib/server/usecases/with-credits.test.ts',
  'tests/lib/server/usecases/expire-credits.test.ts',
];
const MUTATIONS: Mutation[] = [
  {
    name: 'burn-down-paid-first',
    breaks: 'burn-down order: promotional credits go before paid ones of the same expiry',
    file: DEBIT_IN_STEPS,
    find: BURN_DOWN_ORDER,
    replace: "order by expires_at asc nulls last, (category = 'promotional'), effective_at, id",
    tests: ['tests/lib/server/usecases/consume-credits.test.ts', 'tests/lib/server/usecases/get-credit-summary.test.ts'],
  },
  {
    name: 'burn-down-paid-first-function',
    breaks: 'burn-down order in credits_burn_down (spends and reserves): promotional credits go before paid ones of the same expiry',
    file: HOLD_FUNCTIONS,
    find: BURN_DOWN_ORDER,
    replace: "order by expires_at asc nulls last, (category = 'promotional'), effective_at, id",
    tests: ['tests/lib/server/usecases/consume-credits.test.ts', 'tests/lib/server/usecases/get-credit-summary.test.ts'],
  },
  {
    name: 'burn-down-newest-first',
    breaks: 'burn-down order: among equals, the oldest batch (effective_at) goes first',
    file: DEBIT_IN_STEPS,
    find: BURN_DOWN_ORDER,
    replace: "order by expires_at asc nulls last, (category = 'paid'), effective_at desc, id",
    tests: ['tests/lib/server/usecases/consume-credits.test.ts'],
  },
  {
    name: 'burn-down-newest-first-function',
    breaks: 'burn-down order in credits_burn_down (spends and reserves): among equals, the oldest batch (effective_at) goes first',
    file: HOLD_FUNCTIONS,
    find: BURN_DOWN_ORDER,
    replace: "order by expires_at asc nulls last, (category = 'paid'), effective_at desc, id",
    tests: ['tests/lib/server/usecases/consume-credits.test.ts'],
  },
  {
    name: 'burn-down-never-expiring-first',
    breaks: 'burn-down order: never-expiring credits go last',
    file: DEBIT_IN_STEPS,
    find: BURN_DOWN_ORDER,
    replace: "order by expires_at asc nulls first, (category = 'paid'), effective_at, id",
    tests: ['tests/lib/server/usecases/consume-credits.test.ts', 'tests/lib/server/usecases/get-credit-summary.test.ts'],
  },
  {
    name: 'burn-down-never-expiring-first-function',
    breaks: 'burn-down order in credits_burn_down (spends and reserves): never-expiring credits go last',
    file: HOLD_FUNCTIONS,
    find: BURN_DOWN_ORDER,
    replace: "order by expires_at asc nulls first, (category = 'paid'), effective_at, id",
    tests: ['tests/lib/server/usecases/consume-credits.test.ts', 'tests/lib/server/usecases/get-credit-summary.test.ts', ...HOLD_TESTS],
  },
  {
    name: 'key-conflict-spend',
    breaks: 'a key reused for another spend (other user, amount, kind or reason) is refused, not replayed',
    file: DEBIT_IN_STEPS,
    find: 'if (!isDeepStrictEqual(operation.request, debitRequest(params))) return conflict;',
    replace: 'if (!isDeepStrictEqual(operation.request, operation.request)) return conflict;',
    tests: ['tests/lib/server/usecases/consume-credits.test.ts', 'tests/lib/server/usecases/idempotency-keys.test.ts'],
  },
  {
    name: 'key-conflict-spend-function',
    breaks: 'credits_debit: a key reused for another spend (other user, amount or kind) is refused, not replayed',
    file: DEBIT_FUNCTION,
    find: "IF p_operation.request IS DISTINCT FROM p_request THEN RETURN jsonb_build_object('outcome', 'conflict'); END IF;",
    replace: 'NULL;',
    tests: ['tests/lib/server/usecases/consume-credits.test.ts', 'tests/lib/server/usecases/idempotency-keys.test.ts'],
  },
  {
    name: 'key-conflict-grant',
    breaks: 'a key reused for another grant (other user, amount, source, category or expiry) is refused, not replayed',
    file: 'src/lib/server/usecases/grant-credits.ts',
    find: "return same ? { ok: true, replayed: true, batch } : conflict('another grant');",
    replace: 'return { ok: true, replayed: true, batch };',
    tests: ['tests/lib/server/usecases/grant-credits.test.ts', 'tests/lib/server/usecases/idempotency-keys.test.ts'],
  },
  {
    name: 'expire-amount-not-remaining',
    breaks: 'expiry takes what is left of a batch (remaining), not what it was granted (amount)',
    file: 'src/lib/server/usecases/expire-credits.ts',
    find: 'set expired_amount = b.remaining, remaining = 0',
    replace: 'set expired_amount = b.amount, remaining = 0',
    tests: ['tests/lib/server/usecases/expire-credits.test.ts', 'tests/lib/server/usecases/void-job-run.test.ts'],
  },
  {
    name: 'cron-auth-plain-comparison',
    breaks: 'the cron secret is compared in constant time (HMAC digests and timingSafeEqual), not with ===',
    file: 'src/lib/server/http/cron-auth.ts',
    find: 'const safeEqual = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected));',
    replace: 'const safeEqual = (given: string, expected: string) => given === expected;',
    tests: ['tests/lib/server/http/cron-auth.test.ts'],
  },
  {
    name: 'balance-lock-spend',
    breaks: 'a spend locks the balance row before reading it (for update of b)',
    file: DEBIT_IN_STEPS,
    find: '             for update of b`,',
    replace: '`,',
    tests: ['tests/lib/server/usecases/consume-credits.test.ts'],
    needsServer: true,
  },
  {
    name: 'balance-lock-spend-function',
    breaks: 'credits_debit locks the balance row before reading it (FOR UPDATE)',
    file: HOLD_FUNCTIONS,
    find: 'SELECT balance, held INTO v_balance, v_held FROM credit_balances WHERE user_id = p_user_id FOR UPDATE;\n\n  -- Each statement',
    replace: 'SELECT balance, held INTO v_balance, v_held FROM credit_balances WHERE user_id = p_user_id;\n\n  -- Each statement',
    tests: ['tests/lib/server/usecases/consume-credits.test.ts'],
    needsServer: true,
  },
  {
    name: 'balance-lock-grant',
    breaks: 'a grant locks the balance row before reading it (lockBalance)',
    file: 'src/lib/server/credits/balances.ts',
    find: 'sql`select balance, held from credit_balances where user_id = ${userId} for update`,',
    replace: 'sql`select balance, held from credit_balances where user_id = ${userId}`,',
    tests: ['tests/lib/server/usecases/grant-credits.test.ts'],
    needsServer: true,
  },
  {
    name: 'hold-release-first-taken',
    breaks: 'a partial capture gives back to the batches that burn down last, so the captured part is the soonest-expiring',
    file: HOLD_FUNCTIONS,
    find: "WHERE operation_key = p_hold.key AND kind = 'reserve'\n     ORDER BY id DESC",
    replace: "WHERE operation_key = p_hold.key AND kind = 'reserve'\n     ORDER BY id",
    tests: HOLD_TESTS,
  },
  {
    name: 'hold-capture-after-expiry',
    breaks: 'a capture after the hold ran out of time is refused (hold_expired) and releases the hold',
    file: HOLD_FUNCTIONS,
    find: 'IF v_hold.expires_at <= p_now THEN',
    replace: 'IF false THEN',
    tests: HOLD_TESTS,
  },
  {
    name: 'balance-lock-reserve',
    breaks: 'credits_reserve locks the balance row before reading it (FOR UPDATE)',
    file: HOLD_FUNCTIONS,
    find: 'SELECT balance, held INTO v_balance, v_held FROM credit_balances WHERE user_id = p_user_id FOR UPDATE;\n\n  -- Timed-out',
    replace: 'SELECT balance, held INTO v_balance, v_held FROM credit_balances WHERE user_id = p_user_id;\n\n  -- Timed-out',
    tests: ['tests/lib/server/holds-concurrency.test.ts'],
    needsServer: true,
  },
  {
    name: 'hold-release-skips-take-back',
    breaks: 'a release first pays back what a refund, dispute or void of the batch still owes (credit_take_backs)',
    file: HOLD_FUNCTIONS,
    find: 'SELECT * FROM credit_take_backs WHERE batch_id = v_share.batch_id AND pending > 0 ORDER BY id FOR UPDATE',
    replace: 'SELECT * FROM credit_take_backs WHERE batch_id = v_share.batch_id AND pending > 0 AND false ORDER BY id FOR UPDATE',
    tests: [
      'tests/lib/server/usecases/holds-review.test.ts',
      'tests/lib/server/usecases/reverse-payment.test.ts',
      'tests/lib/server/usecases/void-job-run.test.ts',
    ],
  },
  {
    name: 'spend-keeps-timed-out-holds',
    breaks: 'a spend releases the user’s timed-out holds before it takes batches',
    file: HOLD_FUNCTIONS,
    find: 'IF v_held > 0 THEN\n    PERFORM credits_release_timed_out_of_holder',
    replace: 'IF false THEN\n    PERFORM credits_release_timed_out_of_holder',
    tests: ['tests/lib/server/usecases/holds-review.test.ts', 'tests/lib/server/usecases/consume-credits.test.ts'],
  },
  // Payments (docs/payments.md).
  {
    name: 'webhook-event-id-not-recorded',
    breaks: 'a webhook event id is applied once: a redelivery answers duplicate and changes nothing',
    file: 'src/lib/server/usecases/apply-billing-webhook.ts',
    find: '.onConflictDoNothing()',
    replace: '.onConflictDoUpdate({ target: [billingEvents.provider, billingEvents.eventId], set: { type: webhook.eventType } })',
    tests: [
      'tests/lib/server/usecases/apply-billing-webhook.test.ts',
      'tests/app/api/webhooks/stripe.test.ts',
      'tests/app/api/webhooks/creem.test.ts',
    ],
  },
  {
    name: 'safety-net-grants-unpaid-periods',
    breaks: "the grant job grants a provider's monthly period only when it is paid for",
    file: 'src/lib/server/usecases/grant-monthly-credits.ts',
    find: 'and (provider is null or period_start < paid_through)',
    replace: 'and true',
    tests: ['tests/lib/server/usecases/apply-billing-webhook.test.ts', 'tests/lib/server/usecases/billing-review.test.ts'],
  },
  {
    name: 'refund-takes-all-unspent',
    breaks: "a refund takes back its share of the payment's credits, not everything unspent",
    file: 'src/lib/server/usecases/reverse-payment.ts',
    find: 'const takenBack = Math.min(share, unspent);',
    replace: 'const takenBack = unspent;',
    tests: ['tests/lib/server/usecases/reverse-payment.test.ts', 'tests/lib/server/usecases/billing-review.test.ts'],
  },
  {
    name: 'duplicate-charge-owns-the-period',
    breaks: 'a second payment for a period already paid owns no credits, so its refund takes none',
    file: 'src/lib/server/usecases/record-subscription-payment.ts',
    find: 'grantKey: duplicate ? null : key,',
    replace: 'grantKey: key,',
    tests: ['tests/lib/server/usecases/billing-review.test.ts', 'tests/lib/server/usecases/apply-billing-webhook.test.ts'],
  },
];

const HELP = `
Usage: npm run test:mutations [-- options]

Applies each mutation in a scratch copy of the repository, runs the tests that guard its rule, and
reports which tests failed. Exits 1 when a mutation is caught by fewer than two tests or its pattern
no longer matches exactly once. With TEST_DATABASE_URL the tests run on that Postgres server
(needed for the balance-lock mutations); without it, on PGlite.

Options:
  --only NAME[,NAME…]  run these mutations only
  --list               list the mutations and exit
  --from-head          copy the last commit (git HEAD) instead of the working tree
  --keep               keep the scratch copy and the vitest reports (the path is printed)
  -h, --help           this help
`;

const MIN_CATCHES = 2;
const root = path.resolve(import.meta.dirname, '..');

type TestFailure = { file: string; name: string };
type RunResult = { failures: TestFailure[]; fileErrors: string[]; total: number; error?: string };
type Outcome = {
  mutation: Mutation;
  verdict: 'caught' | 'weak' | 'survived' | 'pattern' | 'not-run' | 'error';
  detail?: string;
  caughtBy: TestFailure[];
};

function main() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      list: { type: 'boolean' },
      'from-head': { type: 'boolean' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(HELP.trim());
  if (values.list) {
    for (const m of MUTATIONS) console.log(`${m.name.padEnd(32)} ${m.breaks}${m.needsServer ? ' [needs TEST_DATABASE_URL]' : ''}`);
    return;
  }
  const names = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names?.filter((name) => !MUTATIONS.some((m) => m.name === name)) ?? [];
  if (unknown.length > 0) {
    console.error(`Unknown mutation(s): ${unknown.join(', ')}. See --list.`);
    process.exit(2);
  }
  const selected = names ? MUTATIONS.filter((m) => names.includes(m.name)) : MUTATIONS;
  const server = process.env.TEST_DATABASE_URL || null;

  const scratch = makeScratchCopy(Boolean(values['from-head']));
  console.log(`Scratch copy: ${scratch}${values['from-head'] ? ' (from git HEAD)' : ' (working tree)'}`);
  console.log(`Database: ${server ? `Postgres server (${server})` : 'PGlite (set TEST_DATABASE_URL for the balance-lock mutations)'}\n`);
  try {
    const outcomes: Outcome[] = [];
    // 1. Every pattern must match exactly once, or the mutation tests nothing.
    const runnable: Mutation[] = [];
    for (const m of selected) {
      const source = path.join(scratch, m.file);
      const count = existsSync(source) ? occurrences(readFileSync(source, 'utf8'), m.find) : -1;
      if (count !== 1) {
        const why = count === -1 ? `file ${m.file} does not exist` : `pattern found ${count} times in ${m.file} (must be exactly once)`;
        console.log(
          `!! PATTERN NOT FOUND: mutation "${m.name}": ${why}\n   pattern: ${m.find}\n   Update its entry in scripts/mutations.ts to the current code.`,
        );
        outcomes.push({ mutation: m, verdict: 'pattern', detail: why, caughtBy: [] });
      } else if (m.needsServer && !server) {
        outcomes.push({
          mutation: m,
          verdict: 'not-run',
          detail: 'needs TEST_DATABASE_URL (a missing lock only shows under concurrent transactions)',
          caughtBy: [],
        });
      } else {
        runnable.push(m);
      }
    }

    // 2. The unmutated tests must pass: a test that fails anyway proves nothing about a mutation.
    const baselineFiles = [...new Set(runnable.flatMap((m) => m.tests))];
    let baselineFailures = new Set<string>();
    if (baselineFiles.length > 0) {
      console.log(`Baseline (no mutation): ${baselineFiles.length} test file(s)…`);
      const baseline = runVitest(scratch, baselineFiles, 'baseline');
      if (baseline.error) {
        console.log(`!! The baseline run failed to run: ${baseline.error}`);
        process.exitCode = 1;
        return;
      }
      baselineFailures = new Set(baseline.failures.map(key));
      console.log(
        `   ${baseline.total} tests, ${baseline.failures.length} failed${baseline.fileErrors.length ? `, file errors: ${baseline.fileErrors.join('; ')}` : ''}`,
      );
      for (const f of baseline.failures) console.log(`   ✗ ${f.file} > ${f.name}  (fails without any mutation: not counted)`);
      console.log('');
    }

    // 3. Each mutation, one at a time, the file restored after each.
    for (const m of runnable) {
      const source = path.join(scratch, m.file);
      const original = readFileSync(source, 'utf8');
      writeFileSync(
        source,
        original.replace(m.find, () => m.replace),
      );
      console.log(`Mutation "${m.name}": ${m.breaks}`);
      console.log(`   ${m.file}: ${oneLine(m.find)}  →  ${oneLine(m.replace)}`);
      let result: RunResult;
      try {
        result = runVitest(scratch, m.tests, m.name);
      } finally {
        writeFileSync(source, original);
      }
      if (result.error) {
        console.log(`   ERROR: ${result.error}\n`);
        outcomes.push({ mutation: m, verdict: 'error', detail: result.error, caughtBy: [] });
        continue;
      }
      const caughtBy = result.failures.filter((f) => !baselineFailures.has(key(f)));
      for (const f of caughtBy) console.log(`   ✗ ${f.file} > ${f.name}`);
      for (const e of result.fileErrors) console.log(`   (file error, not counted: ${e})`);
      const verdict = caughtBy.length >= MIN_CATCHES ? 'caught' : caughtBy.length > 0 ? 'weak' : 'survived';
      console.log(`   → ${caughtBy.length} of ${result.total} tests failed: ${verdict.toUpperCase()}\n`);
      outcomes.push({ mutation: m, verdict, caughtBy });
    }

    // 4. The summary, in the table's order.
    console.log('Summary');
    outcomes.sort((a, b) => MUTATIONS.indexOf(a.mutation) - MUTATIONS.indexOf(b.mutation));
    for (const o of outcomes) {
      const label = {
        caught: `caught by ${o.caughtBy.length} tests`,
        weak: `CAUGHT BY ONLY ${o.caughtBy.length} TEST (at least ${MIN_CATCHES} required)`,
        survived: 'SURVIVED: no test failed',
        pattern: `PATTERN NOT FOUND: ${o.detail}`,
        'not-run': `NOT RUN: ${o.detail}`,
        error: `ERROR: ${o.detail}`,
      }[o.verdict];
      console.log(`  ${o.verdict === 'caught' ? 'ok  ' : 'FAIL'} ${o.mutation.name.padEnd(32)} ${label}`);
    }
    if (outcomes.some((o) => o.verdict !== 'caught')) process.exitCode = 1;
  } finally {
    if (values.keep) console.log(`\nKept ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }
}

/** Copies the repository (tracked and untracked files that git does not ignore) and links node_modules. */
function makeScratchCopy(fromHead: boolean): string {
  const scratch = mkdtempSync(path.join(tmpdir(), 'credits-mutations-'));
  if (fromHead) {
    const archive = spawnSync('git', ['archive', '--format=tar', 'HEAD'], { cwd: root, maxBuffer: 1 << 30 });
    if (archive.status !== 0) throw new Error(`git archive failed: ${archive.stderr}`);
    const untar = spawnSync('tar', ['-x', '-C', scratch], { input: archive.stdout });
    if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
  } else {
    const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
    for (const file of listed.stdout.split('\0').filter(Boolean)) {
      const from = path.join(root, file);
      if (!existsSync(from)) continue; // deleted in the working tree
      mkdirSync(path.dirname(path.join(scratch, file)), { recursive: true });
      cpSync(from, path.join(scratch, file));
    }
  }
  symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
  return scratch;
}

function runVitest(cwd: string, files: string[], label: string): RunResult {
  const report = path.join(cwd, `.mutation-${label}.json`);
  rmSync(report, { force: true });
  const run = spawnSync(
    process.execPath,
    [path.join(cwd, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=json', `--outputFile=${report}`, ...files],
    {
      cwd,
      env: { ...process.env, CI: 'true', FORCE_COLOR: '0' },
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    },
  );
  if (!existsSync(report)) {
    const tail = `${run.stderr ?? ''}${run.stdout ?? ''}`.trim().split('\n').slice(-15).join('\n');
    return { failures: [], fileErrors: [], total: 0, error: `vitest wrote no report (exit ${run.status}):\n${tail}` };
  }
  const json = JSON.parse(readFileSync(report, 'utf8')) as {
    numTotalTests: number;
    testResults: {
      name: string;
      status: string;
      message?: string;
      assertionResults: { ancestorTitles: string[]; title: string; status: string }[];
    }[];
  };
  const failures: TestFailure[] = [];
  const fileErrors: string[] = [];
  for (const file of json.testResults) {
    const rel = path.relative(cwd, file.name);
    for (const test of file.assertionResults)
      if (test.status === 'failed') failures.push({ file: rel, name: [...test.ancestorTitles, test.title].join(' > ') });
    if (file.status === 'failed' && file.assertionResults.every((t) => t.status !== 'failed'))
      fileErrors.push(`${rel}: ${oneLine(file.message ?? 'failed')}`);
  }
  if (json.numTotalTests === 0)
    return { failures, fileErrors, total: 0, error: `no tests ran${fileErrors.length ? `: ${fileErrors.join('; ')}` : ''}` };
  return { failures, fileErrors, total: json.numTotalTests };
}

const key = (f: TestFailure) => `${f.file} > ${f.name}`;
const oneLine = (s: string) =>
  s.replace(/\s+/g, ' ').trim().length > 160 ? `${s.replace(/\s+/g, ' ').trim().slice(0, 157)}…` : s.replace(/\s+/g, ' ').trim();

function occurrences(text: string, pattern: string): number {
  let count = 0;
  for (let i = text.indexOf(pattern); i !== -1; i = text.indexOf(pattern, i + 1)) count += 1;
  return count;
}

main();
