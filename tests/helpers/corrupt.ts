import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import type { Database } from '@/lib/server/db/types';

/**
 * Runs a statement that breaks the data on purpose, past the triggers that keep the ledger
 * append-only (a replica session fires no ordinary trigger): how the invariant check's tests
 * simulate a stray query, a bad restore or a hand edit. Tests only; the role needs a superuser.
 */
export async function corrupt(db: Database, statement: SQL) {
  await db.transaction(async (tx) => {
    await tx.execute(sql`set local session_replication_role = replica`);
    await tx.execute(statement);
  });
}
