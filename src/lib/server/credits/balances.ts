import 'server-only';
import { sql } from 'drizzle-orm';
import type { Database } from '@/lib/server/db/types';
import { queryRows } from '@/lib/server/db/sql';

/**
 * Locks one user's balance row, creating it first if needed. Every change of a user's credits takes
 * this lock before touching batches: it is what serializes consumption, grants and expiry per user.
 */
export async function lockBalance(tx: Database, userId: string): Promise<{ balance: number; held: number }> {
  await tx.execute(sql`insert into credit_balances (user_id) values (${userId}) on conflict do nothing`);
  const [row] = await queryRows<{ balance: number; held: number }>(
    tx,
    sql`select balance, held from credit_balances where user_id = ${userId} for update`,
  );
  if (!row) throw new Error(`No balance row for user ${userId}`);
  return row;
}

/**
 * Locks the balance rows of many users, in user id order so that two jobs (or a job and a
 * consumption) that meet on the same users wait for each other instead of deadlocking.
 */
export async function lockBalances(tx: Database, userIds: string[]): Promise<string[]> {
  if (userIds.length === 0) return [];
  const ids = JSON.stringify(userIds);
  await tx.execute(sql`
    insert into credit_balances (user_id)
    select value from jsonb_array_elements_text(${ids}::jsonb)
    on conflict do nothing`);
  const rows = await queryRows<{ user_id: string }>(
    tx,
    sql`select user_id from credit_balances
        where user_id in (select value from jsonb_array_elements_text(${ids}::jsonb))
        order by user_id for update`,
  );
  return rows.map((row) => row.user_id);
}
