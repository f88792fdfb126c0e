import { describe, expect, it, vi } from 'vitest';
import { eq } from 'drizzle-orm';
import { users } from '@/lib/server/db/schema';
import { setupTestDatabase } from '@tests/helpers/db';
import { makeUser } from '@tests/helpers/factories';

// The /credits page's expiry-notices toggle: its server action against the real database, with the
// session stood in (the signed-in user is `signedIn.id`) and Next's cache calls stubbed.
const signedIn = { id: '' };
vi.mock('@/lib/server/auth/session', () => ({
  requireUser: async () => ({ id: signedIn.id }),
  getCurrentUser: async () => ({ id: signedIn.id }),
}));
vi.mock('next/cache', () => ({ revalidatePath: () => undefined }));

const { changeExpiryNotices } = await import('@/app/credits/actions');

const t = setupTestDatabase({ routes: true });
const form = (fields: Record<string, string>) => {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
};
const initial = { enabled: null, message: null, error: false };
const settingOf = async (userId: string) => (await t.db.select().from(users).where(eq(users.id, userId)))[0]!.expiryNotices;

describe('the expiry-notices toggle on /credits', () => {
  it('turns the mail off, then on again, for the signed-in user only', async () => {
    const me = await makeUser(t.db, { emailVerified: true });
    const other = await makeUser(t.db, { emailVerified: true });
    signedIn.id = me.id;
    expect(await settingOf(me.id)).toBe(true);

    expect(await changeExpiryNotices(initial, form({ enabled: 'false' }))).toMatchObject({ enabled: false, error: false });
    expect(await settingOf(me.id)).toBe(false);
    expect(await settingOf(other.id)).toBe(true);

    expect(await changeExpiryNotices(initial, form({ enabled: 'true' }))).toMatchObject({ enabled: true, error: false });
    expect(await settingOf(me.id)).toBe(true);
  });

  it.each([[{}], [{ enabled: 'maybe' }]])('a form that does not parse (%j) is refused and changes nothing', async (fields) => {
    const me = await makeUser(t.db, { emailVerified: true });
    signedIn.id = me.id;
    const state = await changeExpiryNotices(initial, form(fields as Record<string, string>));
    expect(state).toEqual({ enabled: null, message: 'This form is out of date: reload the page.', error: true });
    expect(await settingOf(me.id)).toBe(true);
  });

  it('a form naming another user still acts for the signed-in user only', async () => {
    const me = await makeUser(t.db, { emailVerified: true });
    const other = await makeUser(t.db, { emailVerified: true });
    signedIn.id = me.id;
    await changeExpiryNotices(initial, form({ enabled: 'false', userId: other.id }));
    expect(await settingOf(me.id)).toBe(false);
    expect(await settingOf(other.id)).toBe(true);
  });
});
