import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { sql } from 'drizzle-orm';
import { resetEnvCache } from '@/env';
import { queryRows } from '@/lib/server/db/sql';
import type { Database } from '@/lib/server/db/types';
import { notifyExpiringCredits } from '@/lib/server/usecases/notify-expiring-credits';
import { setExpiryNotices } from '@/lib/server/usecases/set-expiry-notices';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { onRealServer, setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { startMailbox, type Mailbox, type ReceivedMail } from '@tests/helpers/mailbox';

const now = at('2026-03-10T09:00:00Z');
const DAY = 86_400_000;
const inDays = (days: number) => new Date(now.getTime() + days * DAY);

let mailbox: Mailbox;
beforeAll(async () => {
  mailbox = await startMailbox();
  vi.stubEnv('SMTP_URL', mailbox.url);
  vi.stubEnv('MAIL_FROM', 'Credits <credits@example.test>');
  vi.stubEnv('BETTER_AUTH_URL', 'https://app.example.test');
  resetEnvCache();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  resetEnvCache();
  await mailbox.close();
});
beforeEach(() => {
  mailbox.messages.length = 0;
  mailbox.refuseAll(false);
});

const run = (db: Database, extra: { dryRun?: boolean; limit?: number; at?: Date } = {}) =>
  notifyExpiringCredits(db, { trigger: 'test', now: extra.at ?? now, dryRun: extra.dryRun, limit: extra.limit });

const noticesTo = (email: string) => mailbox.messages.filter((m) => m.to === email && m.kind === 'credits-expiring-soon');

async function noticeRows(db: Database) {
  return queryRows<{ batch_id: string; user_id: string; sent: boolean }>(
    db,
    sql`select batch_id::text, user_id, sent_at is not null as sent from credit_expiry_notices order by batch_id`,
  );
}

/** A verified user (the notice goes to verified addresses only: set explicitly, whatever the factory's default). */
const verifiedUser = (db: Database) => makeUser(db, { emailVerified: true, now: inDays(-30) });
const batch = (db: Database, userId: string, amount: number, expiresAt: Date | null) =>
  makeBatch(db, { userId, amount, effectiveAt: inDays(-20), expiresAt, now: inDays(-20) });

describe('the expiring-soon notice', () => {
  const t = setupTestDatabase({ emptyBeforeEach: true });

  it('mails each user once, naming every batch that expires within 7 days with its amount and date; never again for those batches', async () => {
    const ann = await verifiedUser(t.db);
    const bob = await verifiedUser(t.db);
    const a1 = await batch(t.db, ann.id, 120, inDays(2));
    const a2 = await batch(t.db, ann.id, 30, at('2026-03-16T00:00:00Z'));
    await batch(t.db, ann.id, 500, inDays(8.5)); // outside the window until a day and a half from now
    await batch(t.db, ann.id, 70, null); // never expires
    const b1 = await batch(t.db, bob.id, 1_500, inDays(7)); // the window's last instant is in it

    const first = await run(t.db);
    expect(first.results).toEqual({ users: 2, batches: 3, credits: 1_650, failed: 0 });
    expect(first.hasMore).toBe(false);

    const [annMail] = noticesTo(ann.email);
    expect(noticesTo(ann.email)).toHaveLength(1);
    expect(annMail!.subject).toBe('150 credits expire within 7 days');
    expect(annMail!.text).toContain('120 credits expire on Mar 12, 2026, 9:00 AM UTC.');
    expect(annMail!.text).toContain('30 credits expire on Mar 16, 2026, 12:00 AM UTC.');
    expect(annMail!.text).not.toContain('500');
    expect(annMail!.links).toContain('https://app.example.test/credits');
    const bobMail = noticesTo(bob.email);
    expect(bobMail).toHaveLength(1);
    expect(bobMail[0]!.text).toContain('1,500 credits expire on Mar 17, 2026, 9:00 AM UTC.');
    expect((await noticeRows(t.db)).map((r) => [Number(r.batch_id), r.sent])).toEqual(
      [a1.id, a2.id, b1.id].sort((x, y) => x - y).map((id) => [id, true]),
    );

    // The next day's run, and one more the same day: nothing new to name, no mail.
    const again = await run(t.db, { at: inDays(1) });
    expect(again.results).toEqual({ users: 0, batches: 0, credits: 0, failed: 0 });
    await run(t.db);
    expect(mailbox.messages).toHaveLength(2);

    // A day later the 500-credit batch enters the window: Ann is mailed about it alone.
    const later = await run(t.db, { at: inDays(1.5) });
    expect(later.results).toMatchObject({ users: 1, batches: 1, credits: 500 });
    const [, second] = noticesTo(ann.email);
    expect(second!.text).toContain('500 credits expire on');
    expect(second!.text).not.toContain('120 credits');
    await expectInvariants(t.db);
  });

  it('carries one-click unsubscribe headers pointing at the signed link of its footer', async () => {
    const ann = await verifiedUser(t.db);
    await batch(t.db, ann.id, 40, inDays(3));
    await run(t.db);
    const mail = await mailbox.waitFor((m) => m.to === ann.email);
    const link = mail.links.find((l) => l.startsWith('https://app.example.test/unsubscribe?token='));
    expect(link).toBeDefined();
    expect(mail.headers['list-unsubscribe']).toBe(`<${link}>`);
    expect(mail.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
  });

  it('names no one who opted out, is unverified, or whose batches are already expired, empty or outside the window', async () => {
    const optedOut = await verifiedUser(t.db);
    await setExpiryNotices(t.db, { userId: optedOut.id, enabled: false });
    await batch(t.db, optedOut.id, 10, inDays(1));
    const unverified = await makeUser(t.db, { emailVerified: false, now: inDays(-30) });
    await batch(t.db, unverified.id, 10, inDays(1));
    const other = await verifiedUser(t.db);
    await batch(t.db, other.id, 10, inDays(-1)); // expired (not yet swept by the expiry job)
    const spent = await batch(t.db, other.id, 10, inDays(2));
    await consumeCredits(t.db, { userId: other.id, amount: 10, reason: 'test', idempotencyKey: `spend:${spent.id}`, now });
    await batch(t.db, other.id, 10, inDays(30));
    const swept = await verifiedUser(t.db);
    await batch(t.db, swept.id, 10, inDays(-2));
    await expireCredits(t.db, { trigger: 'test', now });

    const result = await run(t.db);
    expect(result.results).toEqual({ users: 0, batches: 0, credits: 0, failed: 0 });
    expect(mailbox.messages).toHaveLength(0);
    expect(await noticeRows(t.db)).toEqual([]);

    // Opting back in: the batch (still in its window) is named at the next run.
    await setExpiryNotices(t.db, { userId: optedOut.id, enabled: true });
    expect((await run(t.db)).results).toMatchObject({ users: 1, batches: 1 });
    expect(noticesTo(optedOut.email)).toHaveLength(1);
    await expectInvariants(t.db);
  });

  it('a dry run names who it would mail and sends nothing, claims nothing', async () => {
    const ann = await verifiedUser(t.db);
    const a1 = await batch(t.db, ann.id, 25, inDays(4));
    const result = await run(t.db, { dryRun: true });
    expect(result.results).toEqual({ users: 1, batches: 1, credits: 25, failed: 0 });
    expect(result.preview).toEqual([{ userId: ann.id, email: ann.email, batchId: a1.id, amount: 25, expiresAt: inDays(4).toISOString() }]);
    expect(mailbox.messages).toHaveLength(0);
    expect(await noticeRows(t.db)).toEqual([]);
  });

  it('a mail the SMTP server refuses is given back and sent by the next run, once', async () => {
    const ann = await verifiedUser(t.db);
    await batch(t.db, ann.id, 60, inDays(5));
    mailbox.refuseAll(true);
    const refused = await run(t.db);
    expect(refused.results).toEqual({ users: 0, batches: 0, credits: 0, failed: 1 });
    expect(await noticeRows(t.db)).toEqual([]);

    mailbox.refuseAll(false);
    const retried = await run(t.db);
    expect(retried.results).toEqual({ users: 1, batches: 1, credits: 60, failed: 0 });
    await run(t.db);
    expect(noticesTo(ann.email)).toHaveLength(1);
    expect(await noticeRows(t.db)).toMatchObject([{ user_id: ann.id, sent: true }]);
  });

  it('an outage (3 refusals in a row) stops the call and gives every claim of the chunk back', async () => {
    const people = await Promise.all(Array.from({ length: 5 }, () => verifiedUser(t.db)));
    for (const person of people) await batch(t.db, person.id, 5, inDays(1));
    mailbox.refuseAll(true);
    const result = await run(t.db);
    expect(result.results).toEqual({ users: 0, batches: 0, credits: 0, failed: 5 });
    expect(await noticeRows(t.db)).toEqual([]);
    mailbox.refuseAll(false);
    expect((await run(t.db)).results).toMatchObject({ users: 5, batches: 5, failed: 0 });
    expect(mailbox.messages).toHaveLength(5);
  });

  it('with a limit, a call looks at that many users and says more remain', async () => {
    const people = await Promise.all(Array.from({ length: 3 }, () => verifiedUser(t.db)));
    for (const person of people) await batch(t.db, person.id, 5, inDays(1));
    const first = await run(t.db, { limit: 2 });
    expect(first).toMatchObject({ hasMore: true, results: { users: 2 } });
    const second = await run(t.db, { limit: 2 });
    expect(second).toMatchObject({ hasMore: false, results: { users: 1 } });
    expect(new Set(mailbox.messages.map((m: ReceivedMail) => m.to)).size).toBe(3);
  });
});

describe.runIf(onRealServer)('overlapping runs (Postgres server)', () => {
  const t = setupTestDatabase({ emptyBeforeEach: true, maxConnections: 12 });

  it('4 concurrent runs name each batch once: one mail per user, every batch in exactly one', async () => {
    const people = await Promise.all(Array.from({ length: 30 }, () => verifiedUser(t.db)));
    for (const [i, person] of people.entries()) {
      await batch(t.db, person.id, 10 + i, inDays(1));
      await batch(t.db, person.id, 100 + i, inDays(6));
    }
    const runs = await Promise.all(Array.from({ length: 4 }, () => run(t.db)));
    const total = runs.reduce(
      (sum, r) => ({ users: sum.users + r.results.users, batches: sum.batches + r.results.batches, failed: sum.failed + r.results.failed }),
      { users: 0, batches: 0, failed: 0 },
    );
    expect(total).toEqual({ users: 30, batches: 60, failed: 0 });
    expect(mailbox.messages).toHaveLength(30);
    for (const [i, person] of people.entries()) {
      const mails = noticesTo(person.email);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.text).toContain(`${10 + i} credits expire`);
      expect(mails[0]!.text).toContain(`${100 + i} credits expire`);
    }
    const rows = await noticeRows(t.db);
    expect(rows).toHaveLength(60);
    expect(rows.every((r) => r.sent)).toBe(true);
    // And again, all four at once: nothing left to name.
    await Promise.all(Array.from({ length: 4 }, () => run(t.db)));
    expect(mailbox.messages).toHaveLength(30);
    await expectInvariants(t.db);
  });
});
