// credits check — the invariants of docs/credits.md over every user, or one. Read-only.
import type { Command } from 'commander';
import { checkInvariants } from '@/lib/server/usecases/check-invariants';
import { resolveUser, withDatabase } from '../database';
import { createOutput, fail } from '../io';
import { wholeNumber } from '../options';
import { readOnly } from './read-only';

type CheckOptions = { user?: string; maxPerRule: number; json?: boolean };

export function checkCommand(program: Command) {
  return readOnly(
    program
      .command('check')
      .description('check the credits invariants, one set-based query per rule (seconds at a million users); exit 1 when any is broken')
      .option('--user <id|email>', 'check one user only')
      .option('--max-per-rule <n>', 'report at most N violations of each rule', wholeNumber(1), 100)
      .option('--json', 'print {"ok", "scope", "violations"} as one JSON document on stdout'),
  ).action(async (o: CheckOptions) => {
    const out = createOutput(o.json ?? false);
    const started = Date.now();
    const { violations, scope } = await withDatabase(async (db) => {
      const userId = o.user === undefined ? undefined : (await resolveUser(db, o.user)).id;
      const scope = userId === undefined ? 'all users' : `user ${userId}`;
      const result = await checkInvariants(db, {
        userId,
        maxPerRule: o.maxPerRule,
        onRule: (p) => out.progress(`[check ${p.done}/${p.of}] ${p.rule}: ${p.violations} violation(s) so far`),
      });
      return { ...result, scope };
    });
    out.result({ ok: violations.length === 0, scope, violations }, () => {
      if (violations.length === 0) return out.line(`✔ No invariant violations (${scope}, ${Date.now() - started}ms)`);
      for (const v of violations)
        out.line(`✖ ${v.rule}: ${v.subject}${v.userId && !v.subject.includes(v.userId) ? ` (user ${v.userId})` : ''}: ${v.detail}`);
      const capped = violations.length >= o.maxPerRule ? ` (at most ${o.maxPerRule} per rule shown)` : '';
      out.line(`\n${violations.length} violation(s) over ${scope}${capped}. See docs/operations.md#checking-invariants.`);
    });
    if (violations.length > 0) fail(`${violations.length} invariant violation(s)`);
  });
}
