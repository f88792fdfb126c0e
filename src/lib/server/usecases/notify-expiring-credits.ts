import 'server-only';
import { sql } from 'drizzle-orm';
import { addDays } from 'date-fns';
import { creditsConfig as defaultConfig, type CreditsConfig } from '@/config/credits';
import { createFormatters } from '@/lib/format';
import type { Database } from '@/lib/server/db/types';
import { queryRows } from '@/lib/server/db/sql';
import { DRY_RUN_PREVIEW_SIZE, inlined, jobAnswer, runJob, writeChunk, type JobOptions } from '@/lib/server/credits/job-runner';
import { sendMail } from '@/lib/server/mail';
import { appLink } from '@/lib/server/mail/links';
import { renderMail, type MailContent } from '@/lib/server/mail/render';
import { expiryNoticesUnsubscribeToken } from './unsubscribe-expiry-notices';

export type NotifyExpiringCreditsParams = JobOptions & {
  /** Stop after this many users have been looked at (the call then reports `hasMore: true`). */
  limit?: number;
  config?: CreditsConfig;
};

export type NotifyExpiringCreditsResult = {
  jobId: string;
  durationMs: number;
  results: {
    /** Users mailed (a dry run: users it would mail). */
    users: number;
    /** Batches those mails named. */
    batches: number;
    /** Credits those batches hold. */
    credits: number;
    /** Users whose mail the SMTP server refused (their batches are claimed again by the next run), or whose claim failed. */
    failed: number;
  };
  hasMore: boolean;
  /** A dry run: the first batches it would name, with their users (the counts cover them all). */
  preview?: ExpiringSoonPreview[];
};

export type ExpiringSoonPreview = { userId: string; email: string; batchId: number; amount: number; expiresAt: string };

/** A batch claimed for a notice, as the claim statement returns it. */
type Claimed = { userId: string; email: string; batchId: string; amount: string; expiresAtMs: number };
type Notice = { userId: string; email: string; batches: { batchId: string; amount: number; expiresAt: Date }[] };

/**
 * Users mailed per chunk: each mail is an SMTP conversation (tens of milliseconds), and the time budget
 * is only looked at between chunks, so a chunk stays well inside it whatever CREDITS_CHUNK_SIZE is.
 */
const USERS_PER_CHUNK = 50;
/** This many refusals in a row is an outage, not a bad address: the call stops mailing, and the next run retries. */
const OUTAGE_AFTER_FAILURES = 3;

/**
 * The daily "credits expiring soon" mail: every user with a verified e-mail who has not turned it off,
 * holding batches with credits left that expire within `expiryNotices.daysAhead` days (src/config),
 * gets one mail naming those batches (amount, date). Each batch is named once, ever: a chunk claims its
 * users' batches in `credit_expiry_notices` (keyed by batch id) in its transaction, and only what it
 * claimed is mailed, after that transaction commits. So repeated and overlapping runs never name a batch
 * twice. A mail the SMTP server refuses gives its claims back (deleted), so the next run tries again; a
 * process that dies between the commit and the send loses that mail (never doubles it).
 */
export async function notifyExpiringCredits(db: Database, params: NotifyExpiringCreditsParams): Promise<NotifyExpiringCreditsResult> {
  const config = params.config ?? defaultConfig;
  const preview: ExpiringSoonPreview[] = [];
  const run = await runJob(db, 'expiring-soon', params, { limit: params.limit ?? null, dryRun: params.dryRun ?? false }, async (ctx) => {
    const window = { now: ctx.now, until: addDays(ctx.now, config.expiryNotices.daysAhead) };
    const counts = { users: 0, batches: 0, credits: 0, failed: 0 };
    let after = ''; // keyset cursor on user id: a user whose mail failed is not tried twice in one call
    let looked = 0;
    let hasMore = false;
    for (;;) {
      if (ctx.outOfTime() || (params.limit !== undefined && looked >= params.limit)) {
        hasMore = (await nextUsers(db, window, after, 1)).length > 0;
        break;
      }
      const size = Math.min(ctx.chunkSize, USERS_PER_CHUNK, params.limit === undefined ? Infinity : params.limit - looked);
      const userIds = await nextUsers(db, window, after, size);
      if (userIds.length === 0) break;
      const { results, failed } = await writeChunk(db, ctx, userIds, (tx, ids) =>
        claimBatches(tx, { userIds: ids, ...window, jobId: ctx.jobId }),
      );
      const notices = groupByUser(results.flat());
      counts.failed += failed.length;
      if (ctx.dryRun) {
        for (const notice of notices) {
          for (const b of notice.batches) {
            if (preview.length < DRY_RUN_PREVIEW_SIZE) {
              preview.push({
                userId: notice.userId,
                email: notice.email,
                batchId: Number(b.batchId),
                amount: b.amount,
                expiresAt: b.expiresAt.toISOString(),
              });
            }
          }
          count(counts, notice);
        }
      } else {
        const sent = await sendNotices(db, notices, { jobId: ctx.jobId, now: ctx.now, config });
        for (const notice of sent.delivered) count(counts, notice);
        counts.failed += sent.failed;
        if (sent.outage) {
          // The rest waits for the next run: calling again now would meet the same outage.
          console.error(`[expiring-soon ${ctx.jobId}] the SMTP server refused ${OUTAGE_AFTER_FAILURES} mails in a row: stopping this call`);
          break;
        }
      }
      looked += userIds.length;
      after = userIds[userIds.length - 1]!;
      params.onChunk?.({ ...counts });
      if (userIds.length < size) break;
    }
    return { results: counts, hasMore };
  });
  return jobAnswer(run, params.dryRun, preview);
}

function count(counts: NotifyExpiringCreditsResult['results'], notice: Notice) {
  counts.users += 1;
  counts.batches += notice.batches.length;
  counts.credits += notice.batches.reduce((sum, b) => sum + b.amount, 0);
}

type Window = { now: Date; until: Date };

// A batch is named when it still holds credits, expires after now and by the window's end, belongs to
// a user with a verified address who has not opted out, and has never been named. The expiry range is
// read through `credit_batches_due_expiry_idx` (expires_at, id where not expired).
const eligible = (w: Window) => sql`b.expired_at is null and b.remaining > 0
     and b.expires_at > ${w.now.toISOString()}::timestamptz and b.expires_at <= ${w.until.toISOString()}::timestamptz
     and u.email_verified and u.expiry_notices
     and not exists (select 1 from credit_expiry_notices n where n.batch_id = b.id)`;

async function nextUsers(db: Database, w: Window, after: string, size: number): Promise<string[]> {
  const rows = await queryRows<{ user_id: string }>(
    db,
    inlined(sql`select distinct b.user_id from credit_batches b join users u on u.id = b.user_id
                 where ${eligible(w)} and b.user_id > ${after}
                 order by b.user_id limit ${size}`),
  );
  return rows.map((row) => row.user_id);
}

/**
 * Claims every eligible batch of these users, in batch id order (two overlapping runs wait on each
 * other's rows in the same order, never in a cycle). A batch another run claimed first is skipped: the
 * insert waits for that run's transaction, then finds its row (`on conflict do nothing`).
 */
async function claimBatches(tx: Database, p: Window & { userIds: string[]; jobId: string }): Promise<Claimed[]> {
  return queryRows<Claimed>(
    tx,
    inlined(sql`
    with claimed as (
      insert into credit_expiry_notices (batch_id, user_id, job_run_id, claimed_at)
      select b.id, b.user_id, ${p.jobId}::uuid, ${p.now.toISOString()}::timestamptz
        from credit_batches b join users u on u.id = b.user_id
       where b.user_id in (select value from jsonb_array_elements_text(${JSON.stringify(p.userIds)}::jsonb)) and ${eligible(p)}
       order by b.id
      on conflict (batch_id) do nothing
      returning batch_id, user_id
    )
    select c.user_id as "userId", u.email, b.id::text as "batchId", b.remaining::text as amount,
           (extract(epoch from b.expires_at) * 1000)::float8 as "expiresAtMs"
      from claimed c join credit_batches b on b.id = c.batch_id join users u on u.id = c.user_id
     order by c.user_id, b.expires_at, b.id`),
  );
}

function groupByUser(rows: Claimed[]): Notice[] {
  const notices = new Map<string, Notice>();
  for (const row of rows) {
    const notice = notices.get(row.userId) ?? { userId: row.userId, email: row.email, batches: [] };
    notice.batches.push({ batchId: row.batchId, amount: Number(row.amount), expiresAt: new Date(row.expiresAtMs) });
    notices.set(row.userId, notice);
  }
  return [...notices.values()];
}

/**
 * Mails each notice, one user at a time. A delivered one marks its claims sent; a refused one deletes
 * them (this run's only, never another's), so its batches are due again for the next run.
 */
async function sendNotices(db: Database, notices: Notice[], p: { jobId: string; now: Date; config: CreditsConfig }) {
  const delivered: Notice[] = [];
  let failed = 0;
  let refusedInARow = 0;
  for (const [index, notice] of notices.entries()) {
    try {
      const unsubscribe = appLink('/unsubscribe', { token: expiryNoticesUnsubscribeToken(notice.userId) });
      await sendMail({
        kind: 'credits-expiring-soon',
        to: notice.email,
        ...renderMail(expiringSoonMail(notice, { unsubscribe, daysAhead: p.config.expiryNotices.daysAhead })),
        // RFC 2369 and RFC 8058: mail clients show their own unsubscribe button and POST to the link.
        headers: { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
      });
      delivered.push(notice);
      refusedInARow = 0;
    } catch (error) {
      console.error(`[expiring-soon ${p.jobId}] mail to user ${notice.userId} refused; its batches stay due for the next run:`, error);
      await releaseClaims(db, p.jobId, [notice]);
      failed += 1;
      refusedInARow += 1;
      if (refusedInARow >= OUTAGE_AFTER_FAILURES) {
        const rest = notices.slice(index + 1);
        await releaseClaims(db, p.jobId, rest);
        return { delivered, failed: failed + rest.length, outage: true };
      }
    }
  }
  if (delivered.length > 0) {
    const sent = JSON.stringify(delivered.flatMap((notice) => notice.batches.map((b) => b.batchId)));
    await db.execute(
      inlined(sql`update credit_expiry_notices set sent_at = ${new Date().toISOString()}::timestamptz
                   where batch_id in (select value::bigint from jsonb_array_elements_text(${sent}::jsonb))`),
    );
  }
  return { delivered, failed, outage: false };
}

async function releaseClaims(db: Database, jobId: string, notices: Notice[]) {
  if (notices.length === 0) return;
  const batchIds = JSON.stringify(notices.flatMap((notice) => notice.batches.map((b) => b.batchId)));
  await db.execute(
    inlined(sql`delete from credit_expiry_notices
                 where job_run_id = ${jobId}::uuid and sent_at is null
                   and batch_id in (select value::bigint from jsonb_array_elements_text(${batchIds}::jsonb))`),
  );
}

/** The mail: its batches soonest first, each with its credits and the instant it expires (UTC, as the app shows it). */
export function expiringSoonMail(notice: Pick<Notice, 'batches'>, links: { unsubscribe: string; daysAhead: number }): MailContent {
  const format = createFormatters('en-US');
  const total = notice.batches.reduce((sum, b) => sum + b.amount, 0);
  const credits = (n: number) => `${format.credits(n)} ${n === 1 ? 'credit' : 'credits'}`;
  return {
    subject: `${credits(total)} expire within ${links.daysAhead} days`,
    heading: 'Some of your credits expire soon',
    paragraphs: [
      `${credits(total)} of your balance expire within the next ${links.daysAhead} days. Spend them before then:`,
      ...notice.batches.map((b) => `${credits(b.amount)} expire on ${format.dateTime(b.expiresAt)}.`),
      'Credits are spent soonest-expiring first, so using the app spends these before any others.',
    ],
    action: { label: 'See your credits', url: appLink('/credits') },
    footer: `You get this mail once for each batch of credits about to expire. To stop it, unsubscribe: ${links.unsubscribe}`,
  };
}
