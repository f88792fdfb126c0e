import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { createAuth, type Auth } from '@/lib/server/auth/auth';
import { adminAudit, sessions, users } from '@/lib/server/db/schema';
import { adminSetUserBanned } from '@/lib/server/usecases/admin-set-user-banned';
import { setupTestDatabase } from '@tests/helpers/db';
import { expectInvariants } from '@tests/helpers/invariants';
import { sessionCookie, setupMailbox, signUpAndVerify } from '@tests/helpers/accounts';

const t = setupTestDatabase();
const mailbox = setupMailbox();
const password = 'correct horse battery staple';
let auth: Auth;
beforeAll(() => {
  auth = createAuth(t.db, {
    secret: 'test-secret-of-at-least-32-characters!',
    baseURL: 'http://localhost:3000',
    adminEmails: ['boss@example.test'],
  });
});

/** Signs up and verifies (once), signs in, and returns the session cookie as request headers. */
async function signedIn(email: string) {
  const [existing] = await t.db.select().from(users).where(eq(users.email, email));
  if (!existing) await signUpAndVerify(auth, mailbox.current, { name: email, email, password });
  const response = await auth.api.signInEmail({ body: { email, password }, asResponse: true });
  if (!response.ok) return { response, headers: null, userId: null };
  const headers = new Headers({ cookie: sessionCookie(response)! });
  const session = await auth.api.getSession({ headers });
  return { response, headers, userId: session!.user.id };
}

const auditOf = (key: string) => t.db.select().from(adminAudit).where(eq(adminAudit.idempotencyKey, key));

describe('adminSetUserBanned', () => {
  it('a ban through the auth plugin ends the user’s sessions and refuses their sign-in; unban lets them back; both recorded', async () => {
    const boss = await signedIn('boss@example.test');
    const victim = await signedIn('spammer@example.test');
    const key = randomUUID();
    const ban = {
      adminUserId: boss.userId!,
      userId: victim.userId!,
      banned: true,
      reason: 'spam',
      auth,
      headers: boss.headers!,
      idempotencyKey: key,
    };

    expect(await adminSetUserBanned(t.db, ban)).toMatchObject({ ok: true, banned: true, replayed: false });

    expect(await auth.api.getSession({ headers: victim.headers! })).toBeNull();
    expect(await t.db.select().from(sessions).where(eq(sessions.userId, victim.userId!))).toEqual([]);
    const [row] = await t.db.select().from(users).where(eq(users.id, victim.userId!));
    expect(row).toMatchObject({ banned: true, banReason: 'spam' });
    const again = await signedIn('spammer@example.test');
    expect(again.response.status).toBe(403);
    expect(await again.response.json()).toMatchObject({ code: 'BANNED_USER' });
    expect((await auditOf(key))[0]).toMatchObject({
      action: 'ban_user',
      targetUserId: victim.userId,
      params: { reason: 'spam' },
      outcome: { ok: true, banned: true },
    });
    // The same form again: recorded once.
    expect(await adminSetUserBanned(t.db, ban)).toMatchObject({ ok: true, replayed: true });
    expect(await auditOf(key)).toHaveLength(1);

    const unbanKey = randomUUID();
    expect(
      await adminSetUserBanned(t.db, {
        adminUserId: boss.userId!,
        userId: victim.userId!,
        banned: false,
        auth,
        headers: boss.headers!,
        idempotencyKey: unbanKey,
      }),
    ).toMatchObject({ ok: true, banned: false });
    expect((await signedIn('spammer@example.test')).response.status).toBe(200);
    expect((await auditOf(unbanKey))[0]).toMatchObject({ action: 'unban_user', outcome: { ok: true, banned: false } });
    await expectInvariants(t.db);
  });

  it('refuses to ban yourself or an unknown user (recorded), and a non-admin outright (nothing written)', async () => {
    const boss = await signedIn('boss@example.test');
    const user = await signedIn('someone@example.test');
    const call = (extra: { adminUserId: string; userId: string; headers: Headers; idempotencyKey: string }) =>
      adminSetUserBanned(t.db, { banned: true, auth, ...extra });

    const selfKey = randomUUID();
    expect(await call({ adminUserId: boss.userId!, userId: boss.userId!, headers: boss.headers!, idempotencyKey: selfKey })).toMatchObject({
      ok: false,
      reason: 'cannot_ban_yourself',
    });
    expect((await auditOf(selfKey))[0]!.outcome).toMatchObject({ reason: 'cannot_ban_yourself' });
    expect(await call({ adminUserId: boss.userId!, userId: 'nobody', headers: boss.headers!, idempotencyKey: randomUUID() })).toMatchObject(
      {
        ok: false,
        reason: 'unknown_user',
      },
    );
    const key = randomUUID();
    expect(await call({ adminUserId: user.userId!, userId: boss.userId!, headers: user.headers!, idempotencyKey: key })).toMatchObject({
      ok: false,
      reason: 'not_admin',
    });
    expect(await auditOf(key)).toEqual([]);
    const [bossRow] = await t.db.select().from(users).where(eq(users.id, boss.userId!));
    expect(bossRow!.banned).toBe(false);
    await expectInvariants(t.db);
  });
});
