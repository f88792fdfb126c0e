import { describe, expect, it } from 'vitest';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceAndHeld, holdOf, userWithHold } from '@tests/helpers/holds';
import { balanceOf, batchesOf, ledgerOf } from '@tests/helpers/queries';
import { captureCredits } from '@/lib/server/usecases/capture-credits';
import { getCreditHistory } from '@/lib/server/usecases/get-credit-history';
import { releaseCredits } from '@/lib/server/usecases/release-credits';
import { getCreditLabels } from '@/app/credits/labels';

const t = setupTestDatabase();

const now = at('2026-06-15T12:00:00Z');
const soon = at('2026-06-15T12:00:10Z');

const heldUser = (ttlSeconds = 60) => userWithHold(t.db, { ttlSeconds, now });

describe('captureCredits', () => {
  it('captures all of a hold: the credits stay spent, counted as consumed, with a capture entry that moves nothing', async () => {
    const { user, key } = await heldUser();
    expect(await captureCredits(t.db, { holdKey: key, now: soon })).toEqual({
      ok: true,
      replayed: false,
      holdKey: key,
      captured: 50,
      released: 0,
    });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 10, held: 0 });
    expect(await holdOf(t.db, key)).toMatchObject({ status: 'captured', captured: 50, released: 0, settledAt: soon });
    const capture = (await ledgerOf(t.db, user.id)).filter((e) => e.kind === 'capture');
    expect(capture.map((e) => [e.delta, e.balanceAfter, e.batchId, e.operationKey, e.metadata])).toEqual([
      [0, 10, null, `capture:${key}`, { reason: 'generation', captured: 50 }],
    ]);
    await expectInvariants(t.db, user.id);
  });

  it('captures part of a hold: the rest goes back to the batches that burn down last, so the captured part is the soonest-expiring', async () => {
    const { user, key, first, last } = await heldUser();
    // Reserved: 30 from `first`, 20 from `last`. Capturing 25 keeps 25 of `first` and gives back 5 to it and 20 to `last`.
    expect(await captureCredits(t.db, { holdKey: key, amount: 25, now: soon })).toMatchObject({ ok: true, captured: 25, released: 25 });
    expect(Object.fromEntries((await batchesOf(t.db, user.id)).map((b) => [b.id, b.remaining]))).toEqual({ [first.id]: 5, [last.id]: 30 });
    const released = (await ledgerOf(t.db, user.id)).filter((e) => e.kind === 'release');
    expect(released.map((e) => [e.batchId, e.delta, e.balanceAfter, e.operationKey])).toEqual([
      [last.id, 20, 30, `release:${key}`],
      [first.id, 5, 35, `release:${key}`],
    ]);
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 35, held: 0 });
    expect(await holdOf(t.db, key)).toMatchObject({ status: 'captured', captured: 25, released: 25 });
    await expectInvariants(t.db, user.id);
  });

  it('the same capture again replays and moves nothing; another amount is a conflict', async () => {
    const { user, key } = await heldUser();
    await captureCredits(t.db, { holdKey: key, amount: 40, now: soon });
    const entries = await ledgerOf(t.db, user.id);
    expect(await captureCredits(t.db, { holdKey: key, amount: 40, now: soon })).toEqual({
      ok: true,
      replayed: true,
      holdKey: key,
      captured: 40,
      released: 10,
    });
    expect(await captureCredits(t.db, { holdKey: key, amount: 41, now: soon })).toMatchObject({
      ok: false,
      reason: 'idempotency_conflict',
    });
    expect(await captureCredits(t.db, { holdKey: key, now: soon })).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
    expect(await ledgerOf(t.db, user.id)).toEqual(entries);
    await expectInvariants(t.db, user.id);
  });

  it('more than was reserved is refused and the hold stays held', async () => {
    const { user, key } = await heldUser();
    expect(await captureCredits(t.db, { holdKey: key, amount: 51, now: soon })).toEqual({
      ok: false,
      reason: 'amount_exceeds_hold',
      requested: 51,
      reserved: 50,
    });
    expect(await holdOf(t.db, key)).toMatchObject({ status: 'held' });
    await expectInvariants(t.db, user.id);
  });

  it('a released hold cannot be captured', async () => {
    const { user, key } = await heldUser();
    await releaseCredits(t.db, { holdKey: key, now: soon });
    expect(await captureCredits(t.db, { holdKey: key, now: soon })).toMatchObject({ ok: false, reason: 'hold_released' });
    expect(await balanceOf(t.db, user.id)).toBe(60);
    await expectInvariants(t.db, user.id);
  });

  it('a capture after the hold’s time is refused as hold_expired and releases the hold; it stays refused', async () => {
    const { user, key } = await heldUser(60);
    const late = at('2026-06-15T12:01:00Z');
    expect(await captureCredits(t.db, { holdKey: key, now: late })).toMatchObject({ ok: false, reason: 'hold_expired' });
    expect(await holdOf(t.db, key)).toMatchObject({ status: 'expired', captured: 0, released: 50, settledAt: late });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 60, held: 0 });
    expect(await captureCredits(t.db, { holdKey: key, now: soon })).toMatchObject({ ok: false, reason: 'hold_expired' });
    await expectInvariants(t.db, user.id);
  });

  it('an unknown hold, or another user’s hold, is hold_not_found', async () => {
    const { user, key } = await heldUser();
    const stranger = await makeUser(t.db);
    expect(await captureCredits(t.db, { holdKey: 'no-such-hold', now })).toMatchObject({ ok: false, reason: 'hold_not_found' });
    expect(await captureCredits(t.db, { holdKey: '', now })).toMatchObject({ ok: false, reason: 'hold_not_found' });
    expect(await captureCredits(t.db, { holdKey: key, userId: stranger.id, now })).toMatchObject({ ok: false, reason: 'hold_not_found' });
    expect(await captureCredits(t.db, { holdKey: key, amount: 0, now })).toMatchObject({ ok: false, reason: 'invalid_amount' });
    expect(await holdOf(t.db, key)).toMatchObject({ status: 'held' });
    expect(await captureCredits(t.db, { holdKey: key, userId: user.id, now })).toMatchObject({ ok: true, captured: 50 });
    await expectInvariants(t.db);
  });
});

describe('a hold in the history', () => {
  it('shows the reserve, the capture and the release, each labelled, newest first', async () => {
    const { user, key } = await heldUser();
    await captureCredits(t.db, { holdKey: key, amount: 45, now: soon });
    const { entries } = await getCreditHistory(t.db, { userId: user.id });
    const holdEntries = entries.filter((e) => e.operationKey.endsWith(key));
    const { kind } = await getCreditLabels();
    expect(holdEntries.map((e) => [kind(e.kind), e.delta])).toEqual([
      [kind('release'), 5],
      [kind('capture'), 0],
      [kind('reserve'), -20],
      [kind('reserve'), -30],
    ]);
    expect(new Set(holdEntries.map((e) => kind(e.kind))).size).toBe(3);
    await expectInvariants(t.db, user.id);
  });
});
