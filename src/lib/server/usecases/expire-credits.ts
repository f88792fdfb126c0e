import 'server-only';
import { sql } from 'drizzle-orm';
import type { Database } from '@/lib/server/db/types';
import type { CreditBatch } from '@/lib/server/db/schema';
import { queryRows } from '@/lib/server/db/sql';
import {
  DRY_RUN_PREVIEW_SIZE,
  inlined,
  jobAnswer,
  runJob,
  withBalancesLocked,
  writeChunk,
  type JobContext,
  type JobOptions,
} from '@/lib/server/credits/job-runner';
import { creditKeysSql } from '@/lib/server/credits/keys';
import { postLostCredits } from '@/lib/server/credits/posting';

export type ExpireCreditsParams = JobOptions & {
  /** Stop after this many batches have been looked at (the call then reports `hasMore: true`). */
  limit?: number;
};

export type ExpireCreditsResult = {
  jobId: string;
  durationMs: number;
  results: {
    processedBatches: number;
    processedUsers: number;
    totalExpiredAmount: number;
    /** Batches, and users whose timed-out holds, that could not be processed. */
    failed: number;
    /** Holds whose time ran out before a capture, released by this call. */
    releasedHolds: number;
    totalReleasedAmount: number;
  };
  hasMore: boolean;
  /** A dry run: the first batches it would expire, with what each would lose (the counts cover them all). */
  preview?: ExpirePreview[];
};

/** A batch a dry run would expire, and what it would lose. */
export type ExpirePreview = { userId: string; email: string; batchId: number; source: string; expiresAt: string; amount: number };

/** A due batch as the walk reads it: the id and expiry as text, exact for the keyset (a bigint id, microseconds). */
type DueBatch = Pick<CreditBatch, 'userId'> & { id: string; expiresAt: string };
type ChunkCounts = { batches: number; users: number; expired: number; preview: ExpirePreview[] };

/**
 * The daily expiry job: every batch whose `expiresAt` has come (`expiresAt <= now`) loses what is
 * left of it, with one `expire` ledger entry for what it lost, and the balance falls by as much.
 * Batches are walked in (expiresAt, id) order; a processed batch leaves the due index, so a later
 * call simply continues with what is still due.
 *
 * First, every hold whose time ran out before a capture is released (a crashed worker never keeps a
 * user's credits): its credits go back to their batches, and those that expired meanwhile lose them at
 * once; credits given back to a batch that is due but not yet swept expire in the walk that follows.
 */
export async function expireCredits(db: Database, params: ExpireCreditsParams): Promise<ExpireCreditsResult> {
  const preview: ExpirePreview[] = [];
  const run = await runJob(db, 'expire', params, { limit: params.limit ?? null, dryRun: params.dryRun ?? false }, async (ctx) => {
    const holds = await releaseTimedOutHolds(db, ctx);
    const counts = {
      processedBatches: 0,
      processedUsers: 0,
      // Credits the released holds gave back to batches already swept expired at once: this run took them.
      totalExpiredAmount: holds.expired,
      failed: holds.failed,
      releasedHolds: holds.released,
      totalReleasedAmount: holds.amount,
    };
    if (holds.hasMore) return { results: counts, hasMore: true };
    let after: DueBatch | null = null; // keyset cursor: failed (or, in a dry run, untouched) batches are not seen twice
    let looked = 0;
    let hasMore = false;
    for (;;) {
      if (ctx.outOfTime() || (params.limit !== undefined && looked >= params.limit)) {
        hasMore = (await nextDueBatches(db, ctx.now, after, 1)).length > 0;
        break;
      }
      const size = params.limit === undefined ? ctx.chunkSize : Math.min(ctx.chunkSize, params.limit - looked);
      const due = await nextDueBatches(db, ctx.now, after, size);
      if (due.length === 0) break;
      // Per-row isolation works per user: one user's bad data must not hold back the others.
      const byUser = groupByUser(due);
      // A real run also takes the same users' other due batches that still hold credits, so each
      // user's balance is settled once rather than once per expiry instant. (A dry run writes nothing:
      // it would meet those batches again further along the walk and count them twice.)
      const { results, failed } = await writeChunk(db, ctx, byUser, (tx, groups) =>
        expireChunk(tx, { groups, now: ctx.now, jobId: ctx.jobId, dryRun: ctx.dryRun }),
      );
      for (const r of results) {
        counts.processedBatches += r.batches;
        counts.processedUsers += r.users;
        counts.totalExpiredAmount += Number(r.expired); // a chunk's sum can pass 2^53: a report, never a failure
        if (ctx.dryRun) {
          // jsonb orders keys by length and name: put them back in reading order.
          for (const b of r.preview.slice(0, DRY_RUN_PREVIEW_SIZE - preview.length)) {
            preview.push({
              userId: b.userId,
              email: b.email,
              batchId: Number(b.batchId),
              source: b.source,
              expiresAt: b.expiresAt,
              amount: Number(b.amount),
            });
          }
        }
      }
      counts.failed += failed.reduce((sum, group) => sum + group.batchIds.length, 0);
      looked += due.length;
      after = due[due.length - 1]!;
      params.onChunk?.({
        batches: counts.processedBatches,
        users: counts.processedUsers,
        expired: counts.totalExpiredAmount,
        failed: counts.failed,
        releasedHolds: counts.releasedHolds,
      });
      if (due.length < size) break;
    }
    return { results: counts, hasMore };
  });
  return jobAnswer(run, params.dryRun, preview);
}

/**
 * Releases the holds whose time ran out, user by user (`credits_release_timed_out`, migration 0010),
 * a chunk of users per transaction with their balance rows locked in user id order first. Users are
 * walked in id order; one whose release fails is counted and passed.
 */
async function releaseTimedOutHolds(db: Database, ctx: JobContext) {
  const counts = { released: 0, amount: 0, expired: 0, failed: 0, hasMore: false };
  let after = '';
  for (;;) {
    const userIds = await usersWithTimedOutHolds(db, ctx.now, after, ctx.chunkSize);
    if (userIds.length === 0) break;
    const { results, failed } = await writeChunk(db, ctx, userIds, (tx, ids) =>
      withBalancesLocked(tx, ids, async () => {
        const [row] = await queryRows<{ holds: number; amount: number; expired: number }>(
          tx,
          inlined(sql`select coalesce(sum(r.released_holds), 0)::int as holds, coalesce(sum(r.released_amount), 0)::bigint as amount,
                             coalesce(sum(r.expired_amount), 0)::bigint as expired
                        from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) u,
                             credits_release_timed_out(u.value, ${ctx.now.toISOString()}::timestamptz) r`),
        );
        return row!;
      }),
    );
    for (const r of results) {
      counts.released += r.holds;
      counts.amount += Number(r.amount);
      counts.expired += Number(r.expired);
    }
    counts.failed += failed.length;
    after = userIds[userIds.length - 1]!;
    if (userIds.length < ctx.chunkSize) break;
    if (ctx.outOfTime()) {
      counts.hasMore = true;
      break;
    }
  }
  return counts;
}

async function usersWithTimedOutHolds(db: Database, now: Date, after: string, size: number): Promise<string[]> {
  const rows = await queryRows<{ user_id: string }>(
    db,
    inlined(sql`select distinct user_id from credit_holds
                 where status = 'held' and expires_at <= ${now.toISOString()}::timestamptz and user_id > ${after}
                 order by user_id limit ${size}`),
  );
  return rows.map((row) => row.user_id);
}

async function nextDueBatches(db: Database, now: Date, after: DueBatch | null, size: number): Promise<DueBatch[]> {
  const keyset = after ? sql`and (expires_at, id) > (${after.expiresAt}::timestamptz, ${after.id}::bigint)` : sql``;
  // The order names the table's columns: a bare `id` would sort by the text alias ('10000' < '9999')
  // while the keyset compares bigints, and batches would be skipped.
  return queryRows<DueBatch>(
    db,
    inlined(sql`select id::text as id, user_id as "userId", expires_at::text as "expiresAt" from credit_batches
         where expired_at is null and expires_at is not null and expires_at <= ${now.toISOString()}::timestamptz ${keyset}
         order by credit_batches.expires_at, credit_batches.id limit ${size}`),
  );
}

function groupByUser(batches: DueBatch[]): { userId: string; batchIds: string[] }[] {
  const groups = new Map<string, string[]>();
  for (const batch of batches) {
    const ids = groups.get(batch.userId) ?? [];
    ids.push(batch.id);
    groups.set(batch.userId, ids);
  }
  return [...groups].map(([userId, batchIds]) => ({ userId, batchIds }));
}

// What a dry run names (it is rolled back): the chunk's first batches, with what each loses. A real run
// skips it: the expiry job's chunk statement is its hot path.
const previewOfExpired = sql`(select coalesce(jsonb_agg(jsonb_build_object('userId', l.user_id, 'email', u.email, 'batchId', l.id, 'source', b.source,
                                                         'expiresAt', b.expires_at, 'amount', l.lost) order by l.user_id, l.id), '[]'::jsonb)
              from (select * from expired order by user_id, id limit ${DRY_RUN_PREVIEW_SIZE}) l
              join users u on u.id = l.user_id join credit_batches b on b.id = l.id)`;

async function expireChunk(
  tx: Database,
  p: { groups: { userId: string; batchIds: string[] }[]; now: Date; jobId: string; dryRun: boolean },
): Promise<ChunkCounts> {
  const userIds = p.groups.map((group) => group.userId);
  const now = p.now.toISOString();
  const batchIds = JSON.stringify(p.groups.flatMap((group) => group.batchIds));
  // Read through the per-user live-batch index (expired_at is null; `remaining > 0` is checked on the row).
  const sameUsers = !p.dryRun
    ? sql`union
      select b.id from credit_batches b
       where b.user_id in (select value from jsonb_array_elements_text(${JSON.stringify(userIds)}::jsonb))
         and b.expired_at is null and b.remaining > 0 and b.expires_at <= ${now}::timestamptz`
    : sql``;
  // The balances are locked (in user id order) before any batch is touched, as every change of credits does.
  const [row] = await withBalancesLocked(tx, userIds, () =>
    queryRows<ChunkCounts>(
      tx,
      // `expired_at is null` is checked again under the row lock: a concurrent run that got there first wins, this one skips.
      inlined(sql`
    with targets as (
      select value::bigint as id from jsonb_array_elements_text(${batchIds}::jsonb)
      ${sameUsers}
    ), expired as (
      update credit_batches b
         set expired_amount = b.remaining, remaining = 0, expired_at = ${now}::timestamptz
       where b.id in (select id from targets)
         and b.expired_at is null and b.expires_at <= ${now}::timestamptz
      returning b.id, b.user_id, b.expired_amount as lost
    ), lost as (
      select * from expired where lost > 0
    ), ${postLostCredits({ kind: 'expire', key: creditKeysSql.expire, total: 'total_expired', jobId: p.jobId, metadata: null, now })}
    select (select count(*) from expired)::int as batches,
           (select count(distinct user_id) from expired)::int as users,
           coalesce((select sum(lost) from lost), 0)::bigint as expired,
           ${p.dryRun ? previewOfExpired : sql`'[]'::jsonb`} as preview`),
    ),
  );
  return row!;
}
