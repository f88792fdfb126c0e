// npm run credits:check [-- --user ID] — the invariants of docs/credits.md over every user (or one).
import { checkInvariants, type InvariantViolation } from '@/lib/server/usecases/check-invariants';
import { openDatabaseForScript, runMain } from './lib/cli';
import { intOption, parseCommandLine, usageError } from './lib/args';
import { resolveUser } from './lib/users';

const HELP = `
Usage: npm run credits:check [-- --user ID|EMAIL] [--max-per-rule N] [--json]

Checks the credits invariants with one set-based query per rule (fast on a million users):
balance = sum of the ledger = sum of live batches, balance >= 0, balance = granted - consumed -
expired, a balance row for every user with history, each entry's balance_after on its user's
chain, each batch's remaining = the sum of its entries, each operation = its entries, each batch's
key claimed by its grant operation, batches within 0…amount, one expire entry per expired batch,
one grant entry per batch, schedules that add up. Prints each violation with the user and the rule
broken; exits 1 if there is any, 0 when all is well.

Options:
  --user ID|EMAIL     check one user only
  --max-per-rule N    print at most N violations of each rule (default 100)
  --json              print {"ok", "violations"} as JSON instead of lines
  -h, --help          this help
`;

runMain(async () => {
  const { values, positionals } = parseCommandLine(
    { user: { type: 'string' }, 'max-per-rule': { type: 'string' }, json: { type: 'boolean' } },
    HELP,
  );
  if (positionals.length > 0) usageError(`Unexpected argument "${positionals[0]}"`);
  const maxPerRule = intOption(values['max-per-rule'], 'max-per-rule') ?? 100;
  const handle = await openDatabaseForScript();
  let violations: InvariantViolation[];
  const started = Date.now();
  try {
    const userId = values.user === undefined ? undefined : (await resolveUser(handle.db, values.user)).id;
    ({ violations } = await checkInvariants(handle.db, { userId, maxPerRule }));
    const scope = values.user === undefined ? 'all users' : `user ${userId}`;
    if (values.json) {
      console.log(JSON.stringify({ ok: violations.length === 0, violations }, null, 2));
    } else if (violations.length === 0) {
      console.log(`✔ No invariant violations (${scope}, ${Date.now() - started}ms)`);
    } else {
      for (const v of violations)
        console.log(`✖ ${v.rule}: ${v.subject}${v.userId && !v.subject.includes(v.userId) ? ` (user ${v.userId})` : ''}: ${v.detail}`);
      const capped = violations.length >= maxPerRule ? ` (at most ${maxPerRule} per rule shown)` : '';
      console.log(`\n${violations.length} violation(s) over ${scope}${capped}. See docs/operations.md#checking-invariants.`);
    }
  } finally {
    await handle.close();
  }
  if (violations.length > 0) process.exit(1);
});
