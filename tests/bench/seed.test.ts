import { expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { setupTestDatabase } from '@tests/helpers/db';
import { expectInvariants } from '@tests/helpers/invariants';
import { queryRows } from '@/lib/server/db/sql';
import type { Database } from '@/lib/server/db/types';
import { createUser } from '@/lib/server/usecases/create-user';
import { startSubscription } from '@/lib/server/usecases/start-subscription';
import { benchCalendar, seedChunk } from '../../bench/seed';

const seeded = setupTestDatabase();
const real = setupTestDatabase();

const calendar = benchCalendar(new Date('2026-05-31T01:00:00Z'));
const planOf = (i: number) =>
  i % 10 === 8 ? 'pro-yearly' : i % 10 === 9 ? 'lifetime' : i % 10 === 6 || i % 10 === 7 ? 'pro-monthly' : null;

/** Every row the users own, with generated ids replaced by the user's number so two databases compare. */
async function snapshot(db: Database) {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`
    with u as (select id, split_part(email, '@', 1) as who from users),
         s as (select s.id, u.who from subscriptions s join u on u.id = s.user_id),
         sc as (select cs.id::text as id, u.who from credit_schedules cs join u on u.id = cs.user_id),
         norm as (select u.who, u.id as uid, s.id as sid, sc.id as scid from u left join s on s.who = u.who left join sc on sc.who = u.who)
    select 'user' as t, u.who, jsonb_build_object('name', users.name, 'verified', users.email_verified, 'created', users.created_at, 'updated', users.updated_at) as row
      from users join u on u.id = users.id
    union all
    select 'balance', n.who, to_jsonb(b) - 'user_id' from credit_balances b join norm n on n.uid = b.user_id
    union all
    select 'subscription', n.who, to_jsonb(x) - 'id' - 'user_id' from subscriptions x join norm n on n.sid = x.id
    union all
    select 'schedule', n.who, to_jsonb(x) - 'id' - 'user_id' - 'subscription_id' from credit_schedules x join norm n on n.scid = x.id::text
    union all
    select 'batch', n.who, (to_jsonb(x) - 'id' - 'user_id' - 'subscription_id' - 'schedule_id' - 'purchase_id' - 'idempotency_key')
             || jsonb_build_object('key', replace(replace(replace(x.idempotency_key, n.uid, 'U'), coalesce(n.sid, '<none>'), 'S'), coalesce(n.scid, '<none>'), 'SC'),
                                   'sub', x.subscription_id = n.sid, 'schedule', x.schedule_id::text = n.scid, 'purchase', x.purchase_id = n.sid)
      from credit_batches x join norm n on n.uid = x.user_id
    union all
    select 'ledger', n.who, (to_jsonb(x) - 'id' - 'user_id' - 'batch_id' - 'operation_key')
             || jsonb_build_object('key', replace(replace(replace(x.operation_key, n.uid, 'U'), coalesce(n.sid, '<none>'), 'S'), coalesce(n.scid, '<none>'), 'SC'),
                                   'batch', (select replace(replace(replace(b.idempotency_key, n.uid, 'U'), coalesce(n.sid, '<none>'), 'S'), coalesce(n.scid, '<none>'), 'SC') from credit_batches b where b.id = x.batch_id))
      from credit_ledger x join norm n on n.uid = x.user_id`,
  );
  return rows.map((r) => JSON.stringify([r.t, r.who, r.row])).sort();
}

it('the bench seed writes exactly the rows that createUser and startSubscription write', async () => {
  const users = 20;
  await seedChunk(seeded.db, { from: 1, to: users, calendar });
  for (let i = 1; i <= users; i++) {
    const plan = planOf(i);
    const at = plan === 'pro-yearly' ? calendar.yearlyAt : calendar.signupAt;
    const user = await createUser(real.db, { email: `user${i}@bench.invalid`, name: `Bench User ${i}`, emailVerified: true, now: at });
    if (plan) await startSubscription(real.db, { userId: user.id, planId: plan, subscriptionId: `bench-sub-${i}`, now: at });
  }
  const [a, b] = await Promise.all([snapshot(seeded.db), snapshot(real.db)]);
  expect(a.length).toBeGreaterThan(users * 4);
  expect(a).toEqual(b);
  await expectInvariants(seeded.db);
});
