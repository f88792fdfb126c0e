import { randomUUID } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { eq } from 'drizzle-orm';
import { adminAudit, creditLedger, users } from '@/lib/server/db/schema';
import { setupTestDatabase } from '@tests/helpers/db';
import { expectInvariants } from '@tests/helpers/invariants';
import { sessionCookie, setupMailbox, signUpAndVerify } from '@tests/helpers/accounts';

// The console's pages and actions, called as Next calls them, against the real auth and database: only
// the request (its cookie) and the cache revalidation are stand-ins. A non-admin or signed-out request
// must meet Next's 404 (`notFound()`), before any parsing or any write.
let cookie = '';
vi.mock('next/headers', () => ({ headers: async () => new Headers(cookie ? { cookie } : {}) }));
vi.mock('next/cache', () => ({ revalidatePath: () => {} }));

const t = setupTestDatabase({ routes: true });
const mailbox = setupMailbox();
const { getAuth } = await import('@/lib/server/auth/auth');
const actions = await import('@/app/admin/actions');
const { default: AdminJobsPage } = await import('@/app/admin/jobs/page');
const { default: AdminUsersPage } = await import('@/app/admin/users/page');
const { default: AdminAuditPage } = await import('@/app/admin/audit/page');
const { default: AdminLayout } = await import('@/app/admin/layout');
const { default: AdminUserPage } = await import('@/app/admin/users/[id]/page');

const password = 'correct horse battery staple';
const NOT_FOUND = /NEXT_HTTP_ERROR_FALLBACK;404/;
const idle = { status: 'idle' as const, message: null, key: randomUUID() };
const form = (fields: Record<string, string>) => {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
};
const noQuery = { searchParams: Promise.resolve({}) };

async function signIn(email: string) {
  const auth = await getAuth();
  const [existing] = await t.db.select().from(users).where(eq(users.email, email));
  if (!existing) await signUpAndVerify(auth, mailbox.current, { name: email, email, password });
  const response = await auth.api.signInEmail({ body: { email, password }, asResponse: true });
  cookie = sessionCookie(response)!;
  return (await t.db.select().from(users).where(eq(users.email, email)))[0]!;
}

let target: typeof users.$inferSelect;
beforeAll(async () => {
  target = await signIn('target@example.test');
  const admin = await signIn('admin@example.test');
  await t.db.update(users).set({ role: 'admin' }).where(eq(users.id, admin.id));
});
beforeEach(() => {
  cookie = '';
});

const everyAction = () =>
  [
    () => actions.adjustCreditsAction(idle, form({ key: randomUUID(), userId: target.id, delta: '500', reason: 'x' })),
    () => actions.runJobAction(idle, form({ key: randomUUID(), job: 'grant', dryRun: 'false' })),
    () => actions.continueRunAction(idle, form({ key: randomUUID(), runId: randomUUID() })),
    () => actions.voidRunAction(idle, form({ key: randomUUID(), runId: randomUUID(), reason: 'x', confirm: 'yes' })),
    () => actions.setBannedAction(idle, form({ key: randomUUID(), userId: target.id, banned: 'true' })),
    () => actions.setRoleAction(idle, form({ key: randomUUID(), userId: target.id, role: 'admin' })),
    // Even an invalid form: the 404 comes before parsing, so nothing tells the console exists.
    () => actions.adjustCreditsAction(idle, form({})),
  ] as const;

const everyPage = () => [
  () => AdminLayout({ children: null }),
  () => AdminJobsPage(noQuery),
  () => AdminUsersPage(noQuery),
  () => AdminAuditPage(noQuery),
  () => AdminUserPage({ params: Promise.resolve({ id: target.id }), ...noQuery }),
];

describe.each([
  ['signed out', async () => {}],
  ['signed in without the admin role', async () => void (await signIn('target@example.test'))],
])('%s', (_who, signInAs) => {
  it('every admin page answers 404', async () => {
    for (const render of everyPage()) {
      await signInAs();
      await expect(render()).rejects.toThrow(NOT_FOUND);
    }
  });

  it('every admin action answers 404 and writes nothing', async () => {
    for (const call of everyAction()) {
      await signInAs();
      await expect(call()).rejects.toThrow(NOT_FOUND);
    }
    expect(await t.db.select().from(adminAudit)).toEqual([]);
    expect(await t.db.select().from(creditLedger).where(eq(creditLedger.kind, 'adjust'))).toEqual([]);
    const [row] = await t.db.select().from(users).where(eq(users.id, target.id));
    expect(row).toMatchObject({ role: 'user', banned: false });
    await expectInvariants(t.db);
  });
});

describe('an admin', () => {
  it('renders the pages and adjusts credits through the action, once per form key', async () => {
    await signIn('admin@example.test');
    for (const render of everyPage()) await expect(render()).resolves.toBeTruthy();

    const key = randomUUID();
    const submit = () => actions.adjustCreditsAction(idle, form({ key, userId: target.id, delta: '500', reason: 'outage' }));
    const first = await submit();
    const second = await submit();
    expect(first).toMatchObject({ status: 'done', message: expect.stringContaining('Gave 500 credits') });
    expect(second).toMatchObject({ status: 'done', message: expect.stringContaining('Already done') });
    expect(first.key).not.toBe(key);
    expect(await t.db.select().from(creditLedger).where(eq(creditLedger.kind, 'adjust'))).toHaveLength(1);

    expect(await actions.adjustCreditsAction(idle, form({ key: randomUUID(), userId: target.id, delta: '0', reason: 'x' }))).toMatchObject({
      status: 'refused',
      message: 'Enter a number of credits other than 0.',
    });
    expect(
      await actions.adjustCreditsAction(idle, form({ key: randomUUID(), userId: target.id, delta: '-100000', reason: 'x' })),
    ).toMatchObject({
      status: 'refused',
      message: expect.stringContaining('nothing was taken'),
    });
    await expectInvariants(t.db);
  });
});
