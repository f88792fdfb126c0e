import 'server-only';
import { and, desc, eq, lt } from 'drizzle-orm';
import { creditBatches, creditLedger } from '@/lib/server/db/schema';
import type { Database } from '@/lib/server/db/types';

export type CreditHistoryParams = {
  userId: string;
  /** The `nextCursor` of the previous page; absent for the newest entries. */
  cursor?: number | null;
  pageSize?: number;
};

/** A page of a user's ledger, newest first, each entry with the source of the batch it touched. */
export async function getCreditHistory(db: Database, params: CreditHistoryParams) {
  const pageSize = Math.min(Math.max(params.pageSize ?? 20, 1), 100);
  const rows = await db
    .select({
      id: creditLedger.id,
      kind: creditLedger.kind,
      delta: creditLedger.delta,
      balanceAfter: creditLedger.balanceAfter,
      operationKey: creditLedger.operationKey,
      batchId: creditLedger.batchId,
      jobRunId: creditLedger.jobRunId,
      metadata: creditLedger.metadata,
      createdAt: creditLedger.createdAt,
      source: creditBatches.source,
      batchExpiresAt: creditBatches.expiresAt,
    })
    .from(creditLedger)
    .leftJoin(creditBatches, eq(creditBatches.id, creditLedger.batchId))
    .where(and(eq(creditLedger.userId, params.userId), params.cursor ? lt(creditLedger.id, params.cursor) : undefined))
    .orderBy(desc(creditLedger.id))
    .limit(pageSize + 1);
  const entries = rows.slice(0, pageSize);
  return { entries, nextCursor: rows.length > pageSize ? entries[entries.length - 1]!.id : null };
}

export type CreditHistoryEntry = Awaited<ReturnType<typeof getCreditHistory>>['entries'][number];
