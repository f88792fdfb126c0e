import { describe, expect, it } from 'vitest';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceAndHeld, holdOf, userWithHold } from '@tests/helpers/holds';
import { balanceOf, batchesOf, ledgerOf } from '@tests/helpers/queries';
import { captureCredits } from '@/lib/server/usecases/capture-credits';
import { releaseCredits } from '@/lib/server/usecases/release-credits';

const t = setupTestDatabase();

const now = at('2026-06-15T12:00:00Z');
const soon = at('2026-06-15T12:00:10Z');
const heldUser = () => userWithHold(t.db, { ttlSeconds: 60, now });

describe('releaseCredits', () => {
  it('gives everything back to the batches it came from, and again is a replay', async () => {
    const { user, key, first, last } = await heldUser();
    expect(await releaseCredits(t.db, { holdKey: key, userId: user.id, now: soon })).toEqual({
      ok: true,
      replayed: false,
      holdKey: key,
      released: 50,
      status: 'released',
    });
    expect(Object.fromEntries((await batchesOf(t.db, user.id)).map((b) => [b.id, b.remaining]))).toEqual({ [first.id]: 30, [last.id]: 30 });
    const entries = await ledgerOf(t.db, user.id);
    expect(await releaseCredits(t.db, { holdKey: key, now: soon })).toMatchObject({ ok: true, replayed: true, released: 50 });
    expect(await ledgerOf(t.db, user.id)).toEqual(entries);
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 60, held: 0 });
    expect(await holdOf(t.db, key)).toMatchObject({ status: 'released', released: 50 });
    await expectInvariants(t.db, user.id);
  });

  it('a captured hold cannot be released; an unknown or another user’s is not found', async () => {
    const { user, key } = await heldUser();
    const stranger = await makeUser(t.db);
    expect(await releaseCredits(t.db, { holdKey: key, userId: stranger.id, now })).toMatchObject({ reason: 'hold_not_found' });
    expect(await releaseCredits(t.db, { holdKey: 'nope', now })).toMatchObject({ reason: 'hold_not_found' });
    await captureCredits(t.db, { holdKey: key, now: soon });
    expect(await releaseCredits(t.db, { holdKey: key, now: soon })).toMatchObject({ ok: false, reason: 'hold_captured' });
    expect(await balanceOf(t.db, user.id)).toBe(10);
    await expectInvariants(t.db);
  });
});
