import { describe, expect, it } from 'vitest';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceAndHeld, holdOf } from '@tests/helpers/holds';
import { batchesOf, ledgerOf } from '@tests/helpers/queries';
import { creditsConfig } from '@/config/credits';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { grantCredits } from '@/lib/server/usecases/grant-credits';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';
import { releaseCredits } from '@/lib/server/usecases/release-credits';

const t = setupTestDatabase();

const now = at('2026-06-15T12:00:00Z');
const past = at('2026-06-01T00:00:00Z');

async function userWith(...batches: { amount: number; expiresAt?: Date | null; category?: 'paid' | 'promotional'; effectiveAt?: Date }[]) {
  const user = await makeUser(t.db);
  const made = [];
  for (const b of batches) made.push(await makeBatch(t.db, { userId: user.id, expiresAt: null, now: past, ...b }));
  return { user, batches: made };
}

describe('reserveCredits', () => {
  it('takes the credits out of the spendable balance at once, into held, with one reserve entry per batch under the hold key', async () => {
    const { user, batches } = await userWith({ amount: 30, expiresAt: at('2026-06-20T00:00:00Z') }, { amount: 30 });
    const result = await reserveCredits(t.db, { userId: user.id, amount: 50, key: `gen-${user.id}`, reason: 'generation', now });
    expect(result).toEqual({
      ok: true,
      replayed: false,
      holdKey: `gen-${user.id}`,
      amount: 50,
      balanceAfter: 10,
      expiresAt: new Date(now.getTime() + creditsConfig.holds.defaultTtlSeconds * 1000),
      status: 'held',
      entries: 2,
    });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 10, held: 50 });
    expect((await batchesOf(t.db, user.id)).map((b) => b.remaining)).toEqual([0, 10]);
    const entries = await ledgerOf(t.db, user.id);
    expect(
      entries.filter((e) => e.kind === 'reserve').map((e) => [e.batchId, e.delta, e.balanceAfter, e.operationKey, e.metadata]),
    ).toEqual([
      [batches[0]!.id, -30, 30, `gen-${user.id}`, { reason: 'generation' }],
      [batches[1]!.id, -20, 10, `gen-${user.id}`, { reason: 'generation' }],
    ]);
    expect(await holdOf(t.db, `gen-${user.id}`)).toMatchObject({ userId: user.id, amount: 50, captured: 0, released: 0, status: 'held' });
    await expectInvariants(t.db, user.id);
  });

  it('keeps the reason and the caller’s metadata in the hold and its entries, and nothing for a reason not given', async () => {
    const { user } = await userWith({ amount: 50 });
    await reserveCredits(t.db, { userId: user.id, amount: 5, key: `meta-${user.id}`, metadata: { model: 'large' }, now });
    await reserveCredits(t.db, { userId: user.id, amount: 5, key: `both-${user.id}`, reason: 'export', metadata: { pages: 3 }, now });
    await reserveCredits(t.db, { userId: user.id, amount: 5, key: `bare-${user.id}`, now });
    const metadataOf = async (key: string) => (await ledgerOf(t.db, user.id)).find((e) => e.operationKey === key)?.metadata;
    expect(await metadataOf(`meta-${user.id}`)).toEqual({ model: 'large' });
    expect(await metadataOf(`both-${user.id}`)).toEqual({ reason: 'export', pages: 3 });
    expect(await metadataOf(`bare-${user.id}`)).toBeNull();
    expect(await holdOf(t.db, `both-${user.id}`)).toMatchObject({ reason: 'export', metadata: { pages: 3 } });
    await expectInvariants(t.db, user.id);
  });

  it('takes batches in exactly the burn-down order of a spend', async () => {
    // Two users with the same six batches: one spends 10 at a time, the other reserves 10 at a time.
    const lots = [
      { amount: 10, category: 'paid' as const, expiresAt: null },
      { amount: 10, category: 'promotional' as const, expiresAt: null },
      { amount: 10, category: 'paid' as const, expiresAt: at('2026-07-01T00:00:00Z') },
      { amount: 10, category: 'promotional' as const, expiresAt: at('2026-07-01T00:00:00Z'), effectiveAt: at('2026-06-10T00:00:00Z') },
      { amount: 10, category: 'promotional' as const, expiresAt: at('2026-07-01T00:00:00Z'), effectiveAt: at('2026-06-05T00:00:00Z') },
      { amount: 10, category: 'paid' as const, expiresAt: at('2026-06-20T00:00:00Z') },
    ];
    const spender = await userWith(...lots);
    const reserver = await userWith(...lots);
    const order = async (userId: string, take: (i: number) => Promise<unknown>) => {
      const emptied: number[] = [];
      for (let i = 0; i < lots.length; i++) {
        await take(i);
        const batches = await batchesOf(t.db, userId);
        emptied.push(...batches.filter((b) => b.remaining === 0 && !emptied.includes(b.id)).map((b) => b.id));
      }
      return emptied;
    };
    const spent = await order(spender.user.id, (i) =>
      consumeCredits(t.db, { userId: spender.user.id, amount: 10, reason: 'test', idempotencyKey: `s-${spender.user.id}-${i}`, now }),
    );
    const reserved = await order(reserver.user.id, (i) =>
      reserveCredits(t.db, { userId: reserver.user.id, amount: 10, key: `r-${reserver.user.id}-${i}`, now }),
    );
    const position = (ids: number[], batches: { id: number }[]) => ids.map((id) => batches.findIndex((b) => b.id === id));
    expect(position(reserved, reserver.batches)).toEqual(position(spent, spender.batches));
    expect(position(reserved, reserver.batches)).toEqual([5, 4, 3, 2, 1, 0]);
    await expectInvariants(t.db, spender.user.id);
    await expectInvariants(t.db, reserver.user.id);
  });

  it('short of spendable credits: insufficient_credits, and nothing written', async () => {
    const { user } = await userWith({ amount: 20 }, { amount: 100, effectiveAt: at('2026-07-01T00:00:00Z') });
    const ledgerBefore = await ledgerOf(t.db, user.id);
    expect(await reserveCredits(t.db, { userId: user.id, amount: 21, key: `short-${user.id}`, now })).toEqual({
      ok: false,
      reason: 'insufficient_credits',
      requested: 21,
      available: 20,
    });
    expect(await ledgerOf(t.db, user.id)).toEqual(ledgerBefore);
    expect(await holdOf(t.db, `short-${user.id}`)).toBeUndefined();
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 120, held: 0 });
    await expectInvariants(t.db, user.id);
  });

  it('a user with no balance row at all is short of everything', async () => {
    const user = await makeUser(t.db);
    expect(await reserveCredits(t.db, { userId: user.id, amount: 1, key: `none-${user.id}`, now })).toMatchObject({
      reason: 'insufficient_credits',
      available: 0,
    });
  });

  it('held credits cannot be spent or reserved again', async () => {
    const { user } = await userWith({ amount: 50 });
    expect(await reserveCredits(t.db, { userId: user.id, amount: 40, key: `a-${user.id}`, now })).toMatchObject({ ok: true });
    expect(await consumeCredits(t.db, { userId: user.id, amount: 11, reason: 'x', idempotencyKey: `s-${user.id}`, now })).toMatchObject({
      reason: 'insufficient_credits',
      available: 10,
    });
    expect(await reserveCredits(t.db, { userId: user.id, amount: 11, key: `b-${user.id}`, now })).toMatchObject({
      reason: 'insufficient_credits',
      available: 10,
    });
    await expectInvariants(t.db, user.id);
  });

  it('the same request again replays the original hold, in its state now, and takes nothing more', async () => {
    const { user } = await userWith({ amount: 50 });
    const key = `replay-${user.id}`;
    const first = await reserveCredits(t.db, { userId: user.id, amount: 30, key, ttlSeconds: 60, now });
    const again = await reserveCredits(t.db, { userId: user.id, amount: 30, key, ttlSeconds: 60, now: at('2026-06-15T12:00:30Z') });
    expect(again).toEqual({ ...first, replayed: true });
    await releaseCredits(t.db, { holdKey: key, now });
    expect(await reserveCredits(t.db, { userId: user.id, amount: 30, key, ttlSeconds: 60, now })).toMatchObject({
      ok: true,
      replayed: true,
      status: 'released',
    });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 50, held: 0 });
    await expectInvariants(t.db, user.id);
  });

  it.each([
    ['another amount', { amount: 31 }],
    ['another time to live', { ttlSeconds: 61 }],
  ])('the key with %s is refused as idempotency_conflict, nothing written', async (_what, change) => {
    const { user } = await userWith({ amount: 50 });
    const key = `conflict-${user.id}`;
    await reserveCredits(t.db, { userId: user.id, amount: 30, key, ttlSeconds: 60, now });
    expect(await reserveCredits(t.db, { userId: user.id, amount: 30, key, ttlSeconds: 60, now, ...change })).toMatchObject({
      ok: false,
      reason: 'idempotency_conflict',
    });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 20, held: 30 });
    await expectInvariants(t.db, user.id);
  });

  it('the key of another user’s hold is a conflict, never their hold', async () => {
    const a = await userWith({ amount: 50 });
    const b = await userWith({ amount: 50 });
    await reserveCredits(t.db, { userId: a.user.id, amount: 30, key: `shared-${a.user.id}`, now });
    expect(await reserveCredits(t.db, { userId: b.user.id, amount: 30, key: `shared-${a.user.id}`, now })).toMatchObject({
      reason: 'idempotency_conflict',
    });
    expect(await balanceAndHeld(t.db, b.user.id)).toEqual({ balance: 50, held: 0 });
    await expectInvariants(t.db);
  });

  it('one key namespace: a spend’s key cannot reserve, a hold’s key cannot spend or grant', async () => {
    const { user } = await userWith({ amount: 100 });
    await consumeCredits(t.db, { userId: user.id, amount: 10, reason: 'x', idempotencyKey: `spend-${user.id}`, now });
    expect(await reserveCredits(t.db, { userId: user.id, amount: 10, key: `spend-${user.id}`, now })).toMatchObject({
      reason: 'idempotency_conflict',
    });
    await reserveCredits(t.db, { userId: user.id, amount: 10, key: `hold-${user.id}`, now });
    expect(await consumeCredits(t.db, { userId: user.id, amount: 10, reason: 'x', idempotencyKey: `hold-${user.id}`, now })).toMatchObject({
      reason: 'idempotency_conflict',
    });
    const grant = await grantCredits(t.db, {
      userId: user.id,
      amount: 10,
      source: 'admin',
      category: 'paid',
      idempotencyKey: `hold-${user.id}`,
      expiresAt: null,
      now,
    });
    expect(grant).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 80, held: 10 });
    await expectInvariants(t.db, user.id);
  });

  it.each([
    ['an empty key', { key: '' }, 'invalid_key'],
    ['a key over 255 characters', { key: 'k'.repeat(256) }, 'invalid_key'],
    ['the engine’s release prefix', { key: 'release:x' }, 'invalid_key'],
    ['the engine’s capture prefix', { key: 'capture:x' }, 'invalid_key'],
    ['a grant’s prefix', { key: 'purchase:x' }, 'invalid_key'],
    ['a zero amount', { amount: 0 }, 'invalid_amount'],
    ['a fractional amount', { amount: 1.5 }, 'invalid_amount'],
    ['a time to live of 0', { ttlSeconds: 0 }, 'invalid_ttl'],
    ['a time to live past the configured maximum', { ttlSeconds: creditsConfig.holds.maxTtlSeconds + 1 }, 'invalid_ttl'],
  ])('%s is refused before anything is written', async (_what, change, reason) => {
    const { user } = await userWith({ amount: 50 });
    expect(await reserveCredits(t.db, { userId: user.id, amount: 10, key: `ok-${user.id}`, now, ...change })).toMatchObject({
      ok: false,
      reason,
    });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 50, held: 0 });
    await expectInvariants(t.db, user.id);
  });

  it('releases the user’s timed-out holds first, so a crashed worker’s credits serve the next request', async () => {
    const { user } = await userWith({ amount: 50 });
    await reserveCredits(t.db, { userId: user.id, amount: 40, key: `crashed-${user.id}`, ttlSeconds: 60, now });
    const later = at('2026-06-15T12:01:00Z'); // exactly the hold's expiry
    expect(await reserveCredits(t.db, { userId: user.id, amount: 45, key: `next-${user.id}`, now: later })).toMatchObject({
      ok: true,
      balanceAfter: 5,
    });
    expect(await holdOf(t.db, `crashed-${user.id}`)).toMatchObject({ status: 'expired', released: 40, settledAt: later });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 5, held: 45 });
    await expectInvariants(t.db, user.id);
  });

  it('a hold still inside its time is not released by the next reserve', async () => {
    const { user } = await userWith({ amount: 50 });
    await reserveCredits(t.db, { userId: user.id, amount: 40, key: `busy-${user.id}`, ttlSeconds: 60, now });
    expect(
      await reserveCredits(t.db, { userId: user.id, amount: 20, key: `next-${user.id}`, now: at('2026-06-15T12:00:59.999Z') }),
    ).toMatchObject({
      reason: 'insufficient_credits',
      available: 10,
    });
    expect(await holdOf(t.db, `busy-${user.id}`)).toMatchObject({ status: 'held' });
    await expectInvariants(t.db, user.id);
  });
});
