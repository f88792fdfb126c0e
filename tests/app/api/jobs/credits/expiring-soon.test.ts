import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { eq } from 'drizzle-orm';
import { GET, POST } from '@/app/api/jobs/credits/expiring-soon/route';
import * as unsubscribeRoute from '@/app/unsubscribe/route';
import { resetEnvCache } from '@/env';
import { users } from '@/lib/server/db/schema';
import { expiryNoticesUnsubscribeToken } from '@/lib/server/usecases/unsubscribe-expiry-notices';
import { setupTestDatabase } from '@tests/helpers/db';
import { makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { basic, bearer, cronRequest, jobRun, readJson, setCronEnv } from '@tests/helpers/cron';
import { setupClockAt } from '@tests/helpers/clock';
import { startMailbox, type Mailbox } from '@tests/helpers/mailbox';

// The route reads the clock: it starts at a fixed instant, so every date below is one known instant.
const now = new Date('2026-04-01T09:00:00Z');
const DAY = 86_400_000;
const inDays = (days: number) => new Date(now.getTime() + days * DAY);

setupClockAt(now);
const t = setupTestDatabase({ routes: true, emptyBeforeEach: true });
let mailbox: Mailbox;
beforeAll(async () => {
  mailbox = await startMailbox();
});
afterAll(async () => {
  await mailbox.close();
});
beforeEach(() => {
  setCronEnv();
  vi.stubEnv('SMTP_URL', mailbox.url);
  vi.stubEnv('BETTER_AUTH_URL', 'https://app.example.test');
  vi.stubEnv('BETTER_AUTH_SECRET', 'a-test-secret-of-at-least-32-chars');
  resetEnvCache();
  mailbox.messages.length = 0;
});
afterAll(() => {
  vi.unstubAllEnvs();
  resetEnvCache();
});

const path = '/api/jobs/credits/expiring-soon';

async function userWithExpiringBatch(amount: number) {
  const user = await makeUser(t.db, { emailVerified: true, now: inDays(-10) });
  await makeBatch(t.db, { userId: user.id, amount, effectiveAt: inDays(-5), expiresAt: inDays(3), now: inDays(-5) });
  return user;
}

const expiryNoticesOf = async (userId: string) =>
  (await t.db.select({ on: users.expiryNotices }).from(users).where(eq(users.id, userId)))[0]!.on;

describe('GET|POST /api/jobs/credits/expiring-soon', () => {
  test.each([
    ['Bearer', 'GET', bearer(), 'bearer'],
    ['Basic', 'POST', basic(), 'basic'],
  ] as const)('with %s auth (%s) it mails the users, and answers what it did', async (_auth, method, headers, trigger) => {
    const user = await userWithExpiringBatch(75);
    const response = await (method === 'GET' ? GET : POST)(cronRequest(path, { method, headers }));
    expect(response.status).toBe(200);
    const body = await readJson(response);
    expect(Object.keys(body)).toEqual(['success', 'jobId', 'duration', 'results', 'hasMore']);
    expect(body).toMatchObject({ success: true, hasMore: false, results: { users: 1, batches: 1, credits: 75, failed: 0 } });
    expect(await jobRun(t.db, body.jobId)).toMatchObject({ job: 'expiring-soon', trigger, status: 'succeeded' });
    const mail = await mailbox.waitFor((m) => m.to === user.email);
    expect(mail.text).toContain('75 credits expire on Apr 4, 2026, 9:00 AM UTC.');
    // Called again (a cron event delivered twice): no second mail.
    expect((await readJson(await GET(cronRequest(path)))).results).toMatchObject({ users: 0, batches: 0 });
    expect(mailbox.messages).toHaveLength(1);
    await expectInvariants(t.db);
  });

  test('without credentials it answers 401 and mails no one', async () => {
    await userWithExpiringBatch(10);
    const response = await GET(cronRequest(path, { headers: {} }));
    expect(response.status).toBe(401);
    expect(mailbox.messages).toHaveLength(0);
  });

  test('a dry run names what it would send and sends nothing', async () => {
    const user = await userWithExpiringBatch(20);
    const body = await readJson(await GET(cronRequest(`${path}?dryRun=1`)));
    expect(body.results).toEqual({ users: 1, batches: 1, credits: 20, failed: 0 });
    expect(mailbox.messages).toHaveLength(0);
    expect((await readJson(await GET(cronRequest(path)))).results).toMatchObject({ users: 1 });
    await mailbox.waitFor((m) => m.to === user.email);
  });

  test.each([['limit=ten'], ['dryRun=2'], ['catchUp=1']])('?%s is refused with 400', async (query) => {
    const response = await GET(cronRequest(`${path}?${query}`));
    expect(response.status).toBe(400);
  });

  test('the SMTP server refusing: the call still answers 200, counts the failure, and the next call sends it once', async () => {
    const user = await userWithExpiringBatch(33);
    mailbox.refuseAll(true);
    try {
      const refused = await readJson(await GET(cronRequest(path)));
      expect(refused).toMatchObject({ success: true, results: { users: 0, failed: 1 } });
    } finally {
      mailbox.refuseAll(false);
    }
    expect((await readJson(await GET(cronRequest(path)))).results).toMatchObject({ users: 1, batches: 1, failed: 0 });
    expect((await readJson(await GET(cronRequest(path)))).results).toMatchObject({ users: 0 });
    expect(mailbox.messages.filter((m) => m.to === user.email)).toHaveLength(1);
  });
});

describe('the unsubscribe link', () => {
  test('opening it changes nothing (mail scanners open links); its button, or the mail client one-click POST, opts out without sign-in', async () => {
    const user = await userWithExpiringBatch(40);
    await GET(cronRequest(path));
    const mail = await mailbox.waitFor((m) => m.to === user.email);
    const link = mail.links.find((l) => l.includes('/unsubscribe?token='))!;
    const local = link.replace('https://app.example.test', 'http://localhost');

    const page = await unsubscribeRoute.GET(new Request(local));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post">');
    expect(await expiryNoticesOf(user.id)).toBe(true);

    // RFC 8058: the client POSTs `List-Unsubscribe=One-Click` to the header's URL.
    const oneClick = await unsubscribeRoute.POST(
      new Request(local, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      }),
    );
    expect(oneClick.status).toBe(200);
    expect(await oneClick.text()).toContain('You are unsubscribed');
    expect(await expiryNoticesOf(user.id)).toBe(false);

    // A new batch in the window: no mail for this user any more.
    await makeBatch(t.db, { userId: user.id, amount: 5, effectiveAt: inDays(-1), expiresAt: inDays(2), now: inDays(-1) });
    expect((await readJson(await GET(cronRequest(path)))).results).toMatchObject({ users: 0 });
    expect(mailbox.messages).toHaveLength(1);
  });

  test.each([
    [
      'another user’s signature',
      (id: string) => `${Buffer.from(id).toString('base64url')}.${expiryNoticesUnsubscribeToken('someone-else').split('.')[1]}`,
    ],
    ['a tampered signature', (id: string) => `${expiryNoticesUnsubscribeToken(id).slice(0, -2)}AA`],
    ['no signature', (id: string) => Buffer.from(id).toString('base64url')],
  ])('a token with %s is refused with 400 and changes nothing', async (_name, token) => {
    const user = await makeUser(t.db, { emailVerified: true });
    const response = await unsubscribeRoute.POST(
      new Request(`http://localhost/unsubscribe?token=${encodeURIComponent(token(user.id))}`, { method: 'POST' }),
    );
    expect(response.status).toBe(400);
    expect(await expiryNoticesOf(user.id)).toBe(true);
  });

  test('a token signed with another secret is refused', async () => {
    const user = await makeUser(t.db, { emailVerified: true });
    const token = expiryNoticesUnsubscribeToken(user.id);
    vi.stubEnv('BETTER_AUTH_SECRET', 'another-secret-of-at-least-32-chars!!');
    resetEnvCache();
    const response = await unsubscribeRoute.POST(new Request(`http://localhost/unsubscribe?token=${token}`, { method: 'POST' }));
    expect(response.status).toBe(400);
    expect(await expiryNoticesOf(user.id)).toBe(true);
  });

  test('without a token the page says the link is not valid', async () => {
    expect((await unsubscribeRoute.GET(new Request('http://localhost/unsubscribe'))).status).toBe(400);
  });
});
