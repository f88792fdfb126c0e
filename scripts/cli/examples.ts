// The examples each command's --help ends with. Every one is run, exactly as written, by
// tests/scripts/cli-examples.test.ts on a database seeded with the demo users (npm run db:seed), in
// this order: keep them runnable there (no placeholders: ids come from another command through jq).
const cli = 'npm run -s credits --';
const lastGrantRun = `"$(${cli} inspect runs --job grant --limit 1 --json | jq -r '.grant[0].id')"`;

export const helpExamples: Record<string, string[]> = {
  'jobs grant': [
    `${cli} jobs grant --dry-run --json | jq .results`,
    `${cli} jobs grant --date "$(date -u -d yesterday +%F)"`,
    `${cli} jobs grant --limit 1000 --once`,
  ],
  'jobs expire': [`npm run -s jobs -- expire --dry-run --json | jq .results`],
  'jobs subscription-grants': [`${cli} jobs subscription-grants --catch-up 36`],
  'jobs expiring-soon': [`${cli} jobs expiring-soon --dry-run --json | jq .preview`],
  'inspect runs': [`${cli} inspect runs --job grant --limit 5`],
  'inspect run': [`${cli} inspect run ${lastGrantRun}`],
  'inspect user': [
    `${cli} inspect user --user demo@example.com`,
    `${cli} inspect user --user demo@example.com --json | jq .balance.balance`,
  ],
  'inspect overdue': [`${cli} inspect overdue --json | jq .total`],
  'admin grant': [
    `${cli} admin grant --user demo@example.com --amount 200 --reason "ticket 4711" --key ticket-4711 --json | jq .balanceAfter`,
  ],
  'admin deduct': [`${cli} admin deduct --user demo@example.com --amount 50 --reason "chargeback 99" --key cb-99 --dry-run`],
  'admin subscribe': [`${cli} admin subscribe --user free-new@example.com --plan pro-monthly --subscription-id ticket-4712 --dry-run`],
  'admin cancel': [
    `${cli} admin cancel --subscription "$(${cli} inspect user --user demo@example.com --json | jq -r '.subscriptions[0].id')" --dry-run`,
  ],
  'admin void-run': [
    `${cli} admin void-run --job-run ${lastGrantRun} --user demo@example.com --dry-run`,
    `${cli} admin void-run --job-run ${lastGrantRun} --reason "wrong amount" --yes --json | jq .results`,
  ],
  check: [`${cli} check --json | jq .ok`, `npm run -s credits:check -- --user demo@example.com`],
  scheduler: [`${cli} scheduler --list --json | jq -r '.[].next'`],
};
