import 'server-only';
import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '@/lib/server/db/types';
import { queryRows } from '@/lib/server/db/sql';

export type InvariantViolation = {
  rule:
    | 'balance_matches_ledger'
    | 'balance_matches_batches'
    | 'balance_non_negative'
    | 'balance_matches_totals'
    | 'balance_row_missing'
    | 'ledger_chain'
    | 'batch_matches_entries'
    | 'operation_matches_entries'
    | 'batch_has_operation'
    | 'batch_remaining_range'
    | 'expired_batch_not_empty'
    | 'expired_batch_entries'
    | 'batch_has_one_grant'
    | 'schedule_adds_up'
    | 'schedule_installments_range'
    | 'schedule_matches_batches'
    | 'held_matches_holds'
    | 'hold_matches_entries'
    | 'hold_release_within_reserve'
    | 'hold_entry_without_hold'
    | 'take_back_within_held';
  userId: string | null;
  subject: string;
  detail: string;
};

const RULES: { rule: InvariantViolation['rule']; query: (only: UserFilter) => SQL }[] = [
  {
    rule: 'balance_matches_ledger',
    query: (only) => sql`
      select b.user_id, b.user_id as subject, 'balance ' || b.balance || ' but ledger sums to ' || coalesce(l.total, 0) as detail
        from credit_balances b
        left join (select user_id, sum(delta) as total from credit_ledger group by user_id) l on l.user_id = b.user_id
       where b.balance <> coalesce(l.total, 0) ${only('b')}`,
  },
  {
    rule: 'balance_matches_batches',
    query: (only) => sql`
      select b.user_id, b.user_id as subject, 'balance ' || b.balance || ' but live batches hold ' || coalesce(x.total, 0) as detail
        from credit_balances b
        left join (select user_id, sum(remaining) as total from credit_batches where expired_at is null group by user_id) x on x.user_id = b.user_id
       where b.balance <> coalesce(x.total, 0) ${only('b')}`,
  },
  {
    rule: 'balance_non_negative',
    query: (only) =>
      sql`select b.user_id, b.user_id as subject, 'balance ' || b.balance as detail from credit_balances b where b.balance < 0 ${only('b')}`,
  },
  {
    rule: 'balance_matches_totals',
    query: (only) => sql`
      select b.user_id, b.user_id as subject,
             'balance ' || b.balance || ' + held ' || b.held || ' but granted - consumed - expired = ' || (b.total_granted - b.total_consumed - b.total_expired) as detail
        from credit_balances b where b.balance + b.held <> b.total_granted - b.total_consumed - b.total_expired ${only('b')}`,
  },
  {
    // What the balance row says is held is what the user's unsettled holds reserved.
    rule: 'held_matches_holds',
    query: (only) => sql`
      select b.user_id, b.user_id as subject, 'held ' || b.held || ' but unsettled holds reserve ' || coalesce(h.total, 0) as detail
        from credit_balances b
        left join (select user_id, sum(amount) as total from credit_holds where status = 'held' group by user_id) h on h.user_id = b.user_id
       where b.held <> coalesce(h.total, 0) ${only('b')}`,
  },
  {
    // A hold's amount is what its reserve entries took (and its operation row says), its release is
    // what its release entries gave back, its capture is its one capture entry; settled, the two add up
    // to the amount, and nothing is captured or released while it is held.
    rule: 'hold_matches_entries',
    query: (only) => sql`
      select h.user_id, 'hold ' || h.key as subject,
             h.status || ' of ' || h.amount || ' (captured ' || h.captured || ', released ' || h.released || ') but reserve entries take '
               || coalesce(r.taken, 0) || ' (operation ' || coalesce(o.kind || ' of ' || o.amount, 'missing') || '), release entries give back '
               || coalesce(g.given, 0) || ', capture entries record ' || coalesce(c.captured, 0) || ' in ' || coalesce(c.n, 0) as detail
        from credit_holds h
        left join credit_operations o on o.key = h.key
        left join (select operation_key, -sum(delta) as taken, count(distinct user_id) as users, min(user_id) as user_id
                     from credit_ledger where kind = 'reserve' group by operation_key) r on r.operation_key = h.key
        left join (select operation_key, sum(delta) as given from credit_ledger where kind = 'release' group by operation_key) g
               on g.operation_key = 'release:' || h.key
        left join (select operation_key, count(*) as n, sum((metadata->>'captured')::bigint) as captured from credit_ledger
                    where kind = 'capture' group by operation_key) c on c.operation_key = 'capture:' || h.key
       where (o.key is null or o.kind <> 'reserve' or o.amount <> h.amount or o.user_id <> h.user_id
              or coalesce(r.taken, 0) <> h.amount or r.users <> 1 or r.user_id <> h.user_id
              or coalesce(g.given, 0) <> h.released or coalesce(c.captured, 0) <> h.captured
              or coalesce(c.n, 0) <> case when h.status = 'captured' then 1 else 0 end
              or h.captured + h.released <> case when h.status = 'held' then 0 else h.amount end) ${only('h')}`,
  },
  {
    // A release gives a batch back at most what the hold took from it: credits never move between batches.
    rule: 'hold_release_within_reserve',
    query: (only) => sql`
      select h.user_id, 'hold ' || h.key || ' batch ' || g.batch_id as subject,
             'gave back ' || g.given || ' but took ' || coalesce(r.taken, 0) as detail
        from credit_holds h
        join (select operation_key, batch_id, sum(delta) as given from credit_ledger where kind = 'release' group by operation_key, batch_id) g
          on g.operation_key = 'release:' || h.key
        left join (select operation_key, batch_id, -sum(delta) as taken from credit_ledger where kind = 'reserve' group by operation_key, batch_id) r
          on r.operation_key = h.key and r.batch_id = g.batch_id
       where g.given > coalesce(r.taken, 0) ${only('h')}`,
  },
  {
    // Every reserve, capture and release entry belongs to a hold of its user.
    rule: 'hold_entry_without_hold',
    query: (only) => sql`
      select l.user_id, 'entry ' || l.id as subject, l.kind || ' under ' || l.operation_key || ' has no hold of this user' as detail
        from credit_ledger l
       where l.kind in ('reserve', 'capture', 'release')
         and not exists (select 1 from credit_holds h where h.user_id = l.user_id
                           and l.operation_key = case l.kind when 'reserve' then h.key else l.kind || ':' || h.key end) ${only('l')}`,
  },
  {
    // What a refund, a dispute or a void still waits for on a batch is held by holds: their release
    // pays it first, and a capture spends it (nothing owed is left on credits that are not held).
    rule: 'take_back_within_held',
    query: (only) => sql`
      select o.user_id, 'batch ' || o.batch_id as subject,
             'owes ' || o.pending || ' to refunds or voids but has ' || credits_batch_held(o.user_id, o.batch_id) || ' held' as detail
        from (select user_id, batch_id, sum(pending) as pending from credit_take_backs group by user_id, batch_id) o
       where o.pending > credits_batch_held(o.user_id, o.batch_id) ${only('o')}`,
  },
  {
    // A partial restore can lose balance rows: start from the history, not from the balances.
    rule: 'balance_row_missing',
    query: (only) => sql`
      select h.user_id, h.user_id as subject, 'has batches or ledger entries but no balance row' as detail
        from (select user_id from credit_batches union select user_id from credit_ledger) h
       where not exists (select 1 from credit_balances b where b.user_id = h.user_id) ${only('h')}`,
  },
  {
    // Each entry's balance_after is the sum of the user's entries up to it: an edited entry breaks the chain.
    rule: 'ledger_chain',
    query: (only) => sql`
      select distinct on (c.user_id) c.user_id, 'entry ' || c.id as subject,
             'balance_after ' || c.balance_after || ' but the entries up to it sum to ' || c.running as detail
        from (select l.id, l.user_id, l.balance_after, sum(l.delta) over (partition by l.user_id order by l.id) as running
                from credit_ledger l where true ${only('l')}) c
       where c.balance_after <> c.running
       order by c.user_id, c.id`,
  },
  {
    // remaining = amount + what its entries took: credits moved between two batches of a user show here.
    rule: 'batch_matches_entries',
    query: (only) => sql`
      select b.user_id, 'batch ' || b.id as subject, 'remaining ' || b.remaining || ' but its entries sum to ' || coalesce(e.total, 0) as detail
        from credit_batches b
        left join (select batch_id, sum(delta) as total from credit_ledger where batch_id is not null group by batch_id) e on e.batch_id = b.id
       where b.remaining <> coalesce(e.total, 0) ${only('b')}`,
  },
  {
    rule: 'operation_matches_entries',
    query: (only) => sql`
      select o.user_id, 'operation ' || o.key as subject,
             o.kind || ' of ' || o.amount || ' but its entries move ' || coalesce(e.total, 0) || ' for ' || coalesce(e.users, 0) || ' user(s)' as detail
        from credit_operations o
        left join (select operation_key, sum(delta) as total, count(distinct user_id) as users, min(user_id) as user_id
                     from credit_ledger group by operation_key) e on e.operation_key = o.key
       where (o.amount <> abs(coalesce(e.total, 0)) or e.users <> 1 or e.user_id <> o.user_id) ${only('o')}`,
  },
  {
    // One key namespace: every batch's key is claimed by its operation row.
    rule: 'batch_has_operation',
    query: (only) => sql`
      select b.user_id, 'batch ' || b.id as subject, 'key ' || b.idempotency_key || ' has no grant operation of this user' as detail
        from credit_batches b
       where not exists (select 1 from credit_operations o where o.key = b.idempotency_key and o.user_id = b.user_id
                           and o.kind in ('grant', 'adjust', 'refund')) ${only('b')}`,
  },
  {
    rule: 'batch_remaining_range',
    query: (only) => sql`
      select b.user_id, 'batch ' || b.id as subject, 'remaining ' || b.remaining || ' of ' || b.amount as detail
        from credit_batches b where (b.remaining < 0 or b.remaining > b.amount) ${only('b')}`,
  },
  {
    rule: 'expired_batch_not_empty',
    query: (only) => sql`
      select b.user_id, 'batch ' || b.id as subject, 'expired but ' || b.remaining || ' remaining' as detail
        from credit_batches b where b.expired_at is not null and b.remaining <> 0 ${only('b')}`,
  },
  {
    rule: 'expired_batch_entries',
    query: (only) => sql`
      select b.user_id, 'batch ' || b.id as subject,
             'lost ' || b.expired_amount || ' but has ' || coalesce(e.n, 0) || ' expire entries for ' || coalesce(-e.total, 0) as detail
        from credit_batches b
        left join (select batch_id, count(*) as n, sum(delta) as total from credit_ledger where kind = 'expire' group by batch_id) e on e.batch_id = b.id
       -- One entry from the expiry job's sweep, plus one per hold released into the batch after it had expired.
       where (b.expired_at is not null and b.expired_amount > 0 and (e.n is null or -e.total <> b.expired_amount))
          or ((b.expired_at is null or b.expired_amount = 0) and e.n is not null) ${only('b')}`,
  },
  {
    rule: 'batch_has_one_grant',
    query: (only) => sql`
      select b.user_id, 'batch ' || b.id as subject, 'has ' || coalesce(g.n, 0) || ' grant entries for ' || coalesce(g.total, 0) || ' of ' || b.amount as detail
        from credit_batches b
        left join (select batch_id, count(*) as n, sum(delta) as total from credit_ledger where kind in ('grant', 'adjust', 'refund') and delta > 0 group by batch_id) g on g.batch_id = b.id
       where (coalesce(g.n, 0) <> 1 or g.total <> b.amount) ${only('b')}`,
  },
  {
    rule: 'schedule_adds_up',
    query: (only) => sql`
      select s.user_id, 'schedule ' || s.id as subject,
             'granted ' || s.credits_granted || ' + remaining ' || s.credits_remaining || ' <> total ' || s.credits_total as detail
        from credit_schedules s where s.credits_granted + s.credits_remaining <> s.credits_total ${only('s')}`,
  },
  {
    rule: 'schedule_installments_range',
    query: (only) => sql`
      select s.user_id, 'schedule ' || s.id as subject, s.installments_done || ' of ' || s.installments_total || ' installments' as detail
        from credit_schedules s where (s.installments_done < 0 or s.installments_done > s.installments_total) ${only('s')}`,
  },
  {
    rule: 'schedule_matches_batches',
    query: (only) => sql`
      select s.user_id, 'schedule ' || s.id as subject,
             'credits_granted ' || s.credits_granted || ' but its batches hold ' || coalesce(x.total, 0) || ' in ' || coalesce(x.n, 0) || ' installments' as detail
        from credit_schedules s
        left join (select schedule_id, sum(amount) as total, count(*) as n from credit_batches where schedule_id is not null group by schedule_id) x on x.schedule_id = s.id
       where (s.credits_granted <> coalesce(x.total, 0) or s.installments_done <> coalesce(x.n, 0)) ${only('s')}`,
  },
];

/** Restricts a rule to one user, through the alias of the table whose user_id it reports. */
type UserFilter = (alias: 'b' | 's' | 'h' | 'l' | 'o') => SQL;

/**
 * Checks the invariants of docs/credits.md over every user, or one: balance = Σ ledger = Σ live
 * batches, balance + held = the totals, a balance row for every user with history, each ledger entry's
 * balance_after on the chain, each batch's remaining = its entries, each operation = its entries, no
 * negative balance, batches within range, expiry entries for what each expired batch lost, schedules
 * that add up, holds that add up with their entries and the balance's `held`.
 * Returns the violations (at most `maxPerRule` of each rule), none when all is well.
 */
export async function checkInvariants(
  db: Database,
  params: {
    userId?: string;
    maxPerRule?: number;
    /** Called after each rule, for a progress line in scripts (each rule scans whole tables at a million users). */
    onRule?: (progress: { rule: InvariantViolation['rule']; done: number; of: number; violations: number }) => void;
  } = {},
): Promise<{ ok: boolean; violations: InvariantViolation[] }> {
  const userId = params.userId;
  const only: UserFilter = userId ? (alias) => sql`and ${sql.raw(alias)}.user_id = ${userId}` : () => sql``;
  const violations: InvariantViolation[] = [];
  for (const { rule, query } of RULES) {
    const rows = await queryRows<{ user_id: string | null; subject: string; detail: string }>(
      db,
      sql`select * from (${query(only)}) v limit ${params.maxPerRule ?? 100}`,
    );
    for (const row of rows) violations.push({ rule, userId: row.user_id, subject: row.subject, detail: row.detail });
    params.onRule?.({ rule, done: RULES.findIndex((r) => r.rule === rule) + 1, of: RULES.length, violations: violations.length });
  }
  return { ok: violations.length === 0, violations };
}
