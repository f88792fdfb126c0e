import { describe, expect, it } from 'vitest';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeRegisteredUser, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { ledgerOf } from '@tests/helpers/queries';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { getCreditHistory, type CreditHistoryEntry } from '@/lib/server/usecases/get-credit-history';

const t = setupTestDatabase();

const now = at('2026-06-15T12:00:00Z');

/** Every page of a user's history, following `nextCursor` the way the credits page's "Older entries" link does. */
async function allPages(userId: string, pageSize: number) {
  const pages: CreditHistoryEntry[][] = [];
  let cursor: number | null = null;
  do {
    const page: Awaited<ReturnType<typeof getCreditHistory>> = await getCreditHistory(t.db, { userId, cursor, pageSize });
    pages.push(page.entries);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return pages;
}

describe('credit history', () => {
  it('a new user sees the free month above the sign-up bonus, newest first', async () => {
    const user = await makeRegisteredUser(t.db, now);
    const { entries, nextCursor } = await getCreditHistory(t.db, { userId: user.id });
    expect(entries.map((e) => [e.kind, e.delta, e.balanceAfter, e.source])).toEqual([
      ['grant', 50, 150, 'free'],
      ['grant', 100, 100, 'signup'],
    ]);
    expect(entries.every((e) => e.createdAt.getTime() === now.getTime())).toBe(true);
    expect(nextCursor).toBeNull();
    await expectInvariants(t.db, user.id);
  });

  it('pages follow the cursor without gaps or repeats, and the last page has no cursor', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 100, expiresAt: null, now });
    for (let i = 1; i <= 6; i++) {
      await consumeCredits(t.db, {
        userId: user.id,
        amount: i,
        reason: 'test',
        idempotencyKey: `page-${user.id}-${i}`,
        now: new Date(now.getTime() + i * 60_000),
      });
    }
    const pages = await allPages(user.id, 3);
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    const flat = pages.flat();
    const ledger = await ledgerOf(t.db, user.id);
    expect(flat.map((e) => e.id)).toEqual(ledger.map((e) => e.id).reverse());
    expect(flat.map((e) => e.delta)).toEqual([-6, -5, -4, -3, -2, -1, 100]);
    // Newest first: each balance-after is the previous (older) one plus this entry's delta.
    expect(flat.map((e) => e.balanceAfter)).toEqual([79, 85, 90, 94, 97, 99, 100]);
    expect(flat.slice(0, 6).every((e) => e.kind === 'consume' && e.metadata?.reason === 'test')).toBe(true);
    await expectInvariants(t.db, user.id);
  });

  it('a page size exactly matching the history has no next cursor', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 10, expiresAt: null, now });
    await makeBatch(t.db, { userId: user.id, amount: 10, expiresAt: null, now });
    expect((await getCreditHistory(t.db, { userId: user.id, pageSize: 2 })).nextCursor).toBeNull();
    const first = await getCreditHistory(t.db, { userId: user.id, pageSize: 1 });
    expect(first.nextCursor).toBe(first.entries[0]!.id);
    expect((await getCreditHistory(t.db, { userId: user.id, cursor: first.nextCursor, pageSize: 1 })).nextCursor).toBeNull();
  });

  it('a consumption spanning two batches shows one entry per batch, each with the source of the batch it took from', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, {
      userId: user.id,
      amount: 5,
      source: 'signup',
      category: 'promotional',
      expiresAt: at('2026-07-01T00:00:00Z'),
      now,
    });
    await makeBatch(t.db, { userId: user.id, amount: 20, source: 'purchase', expiresAt: null, now });
    await consumeCredits(t.db, { userId: user.id, amount: 8, reason: 'test', idempotencyKey: `span-${user.id}`, now });
    const { entries } = await getCreditHistory(t.db, { userId: user.id });
    expect(entries.map((e) => [e.kind, e.delta, e.balanceAfter, e.source])).toEqual([
      ['consume', -3, 17, 'purchase'],
      ['consume', -5, 20, 'signup'],
      ['grant', 20, 25, 'purchase'],
      ['grant', 5, 5, 'signup'],
    ]);
    await expectInvariants(t.db, user.id);
  });

  it('expired credits appear as an expire entry of the batch that lost them', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, {
      userId: user.id,
      amount: 30,
      source: 'free',
      category: 'promotional',
      expiresAt: at('2026-07-01T00:00:00Z'),
      now,
    });
    await expireCredits(t.db, { trigger: 'test', now: at('2026-07-01T04:00:00Z') });
    const { entries } = await getCreditHistory(t.db, { userId: user.id });
    expect(entries.map((e) => [e.kind, e.delta, e.balanceAfter, e.source])).toEqual([
      ['expire', -30, 0, 'free'],
      ['grant', 30, 30, 'free'],
    ]);
    await expectInvariants(t.db, user.id);
  });

  it('shows only the user’s own entries, and nothing for a user without any', async () => {
    const empty = await makeUser(t.db);
    expect(await getCreditHistory(t.db, { userId: empty.id })).toEqual({ entries: [], nextCursor: null });
  });

  it('clamps the page size to 1…100', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 10, expiresAt: null, now });
    await makeBatch(t.db, { userId: user.id, amount: 10, expiresAt: null, now });
    expect((await getCreditHistory(t.db, { userId: user.id, pageSize: 0 })).entries).toHaveLength(1);
    expect((await getCreditHistory(t.db, { userId: user.id, pageSize: 1_000 })).entries).toHaveLength(2);
  });
});

it('every scenario leaves the invariants intact', async () => {
  await expectInvariants(t.db);
});
