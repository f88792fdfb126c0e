import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf, batchesOf, ledgerOf } from '@tests/helpers/queries';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { checkInvariants } from '@/lib/server/usecases/check-invariants';
import { captureCredits } from '@/lib/server/usecases/capture-credits';
import { releaseCredits } from '@/lib/server/usecases/release-credits';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';
import { balanceAndHeld, balanceRowOf, holdOf, userWithHold } from '@tests/helpers/holds';

const t = setupTestDatabase({ emptyBeforeEach: true });

const granted = at('2026-01-01T00:00:00Z');
const expiry = at('2026-02-01T00:00:00Z');
const run = (now: Date, extra: Partial<Parameters<typeof expireCredits>[1]> = {}) =>
  expireCredits(t.db, { trigger: 'test', now, ...extra });

describe('expiry', () => {
  it('a batch expires at the exact instant of its expiresAt, not a millisecond before', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 100, expiresAt: expiry, now: granted });
    expect((await run(new Date(expiry.getTime() - 1))).results).toMatchObject({ processedBatches: 0 });
    expect(await balanceOf(t.db, user.id)).toBe(100);
    const result = await run(expiry);
    expect(result.results).toEqual({
      processedBatches: 1,
      processedUsers: 1,
      totalExpiredAmount: 100,
      failed: 0,
      releasedHolds: 0,
      totalReleasedAmount: 0,
    });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    await expectInvariants(t.db);
  });

  it('takes only what is left of a partly spent batch, with one expire entry, and leaves other batches alone', async () => {
    const user = await makeUser(t.db);
    const expiring = await makeBatch(t.db, { userId: user.id, amount: 100, expiresAt: expiry, now: granted });
    await makeBatch(t.db, { userId: user.id, amount: 40, expiresAt: null, now: granted });
    await consumeCredits(t.db, { userId: user.id, amount: 30, reason: 'use', idempotencyKey: 'spend-30', now: at('2026-01-10T00:00:00Z') });
    await run(at('2026-02-01T04:00:00Z'));
    const [batch] = await batchesOf(t.db, user.id);
    expect(batch).toMatchObject({ id: expiring.id, remaining: 0, expiredAmount: 70 });
    expect(batch!.expiredAt).toEqual(at('2026-02-01T04:00:00Z'));
    const expireEntries = (await ledgerOf(t.db, user.id)).filter((e) => e.kind === 'expire');
    expect(expireEntries.map((e) => [e.delta, e.balanceAfter, e.batchId, e.operationKey])).toEqual([
      [-70, 40, expiring.id, `expire:${expiring.id}`],
    ]);
    expect(await balanceOf(t.db, user.id)).toBe(40);
    await expectInvariants(t.db);
  });

  it('a fully spent batch is closed without a zero expire entry', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 10, expiresAt: expiry, now: granted });
    await consumeCredits(t.db, {
      userId: user.id,
      amount: 10,
      reason: 'use',
      idempotencyKey: 'spend-all',
      now: at('2026-01-10T00:00:00Z'),
    });
    const result = await run(expiry);
    expect(result.results).toMatchObject({ processedBatches: 1, totalExpiredAmount: 0 });
    expect((await ledgerOf(t.db, user.id)).filter((e) => e.kind === 'expire')).toHaveLength(0);
    await expectInvariants(t.db);
  });

  it('running it again expires nothing twice', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 10, expiresAt: expiry, now: granted });
    await run(expiry);
    const again = await run(at('2026-02-02T00:00:00Z'));
    expect(again.results).toMatchObject({ processedBatches: 0, totalExpiredAmount: 0 });
    expect((await ledgerOf(t.db, user.id)).filter((e) => e.kind === 'expire')).toHaveLength(1);
    await expectInvariants(t.db);
  });

  it('walks batches in chunks, stops at the limit with hasMore, and the next call finishes', async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => makeUser(t.db)));
    for (const [i, user] of users.entries()) {
      await makeBatch(t.db, { userId: user.id, amount: 10 + i, expiresAt: expiry, now: granted });
      await makeBatch(t.db, { userId: user.id, amount: 1, expiresAt: at('2026-01-15T00:00:00Z'), now: granted });
    }
    // limit 3 looks at the first three due batches (the Jan 15 ones of users 1-3); with each, the same
    // user's other due batch goes too, so each user's balance is settled once.
    const first = await run(expiry, { limit: 3, chunkSize: 2 });
    expect(first).toMatchObject({ hasMore: true, results: { processedBatches: 6, processedUsers: 3 } });
    const second = await run(expiry, { limit: 3, chunkSize: 2 });
    expect(second).toMatchObject({ hasMore: false, results: { processedBatches: 4, processedUsers: 2 } });
    expect(first.results.totalExpiredAmount + second.results.totalExpiredAmount).toBe(5 + 10 + 11 + 12 + 13 + 14);
    for (const user of users) expect(await balanceOf(t.db, user.id)).toBe(0);
    await expectInvariants(t.db);
  });

  it('pages through batches whose ids cross a digit boundary without skipping any (ids sort as numbers)', async () => {
    await t.db.execute(sql`truncate credit_batches, credit_ledger restart identity cascade`);
    const user = await makeUser(t.db);
    for (let i = 0; i < 12; i++) await makeBatch(t.db, { userId: user.id, amount: 1, expiresAt: expiry, now: granted }); // ids 1…12
    const result = await run(expiry, { chunkSize: 4 });
    expect(result.results).toMatchObject({ processedBatches: 12, totalExpiredAmount: 12, failed: 0 });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    await expectInvariants(t.db);
  });

  it('a dry run counts what would expire and changes nothing', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 25, expiresAt: expiry, now: granted });
    const result = await run(expiry, { dryRun: true, chunkSize: 1 });
    expect(result.results).toMatchObject({ processedBatches: 1, totalExpiredAmount: 25 });
    expect(await balanceOf(t.db, user.id)).toBe(25);
    expect((await batchesOf(t.db, user.id))[0]!.expiredAt).toBeNull();
    await expectInvariants(t.db);
  });

  it('a dry run names the batches it would expire and what each would lose; a real run names none', async () => {
    const user = await makeUser(t.db);
    // Burned first (older, same expiry): the spend empties it, and it expires losing nothing.
    const spent = await makeBatch(t.db, { userId: user.id, amount: 5, expiresAt: expiry, now: granted });
    const full = await makeBatch(t.db, { userId: user.id, amount: 25, expiresAt: expiry, now: granted });
    await consumeCredits(t.db, { userId: user.id, amount: 5, reason: 'test', idempotencyKey: 'spend-before-expiry', now: granted });
    const dry = await run(expiry, { dryRun: true, chunkSize: 1 });
    const named = (dry.preview ?? []).filter((b) => b.userId === user.id);
    expect(named).toEqual(
      [spent, full].map((b) => ({
        userId: user.id,
        email: user.email,
        batchId: b.id,
        source: b.source,
        expiresAt: expect.any(String),
        amount: b.id === full.id ? 25 : 0,
      })),
    );
    expect(await balanceOf(t.db, user.id)).toBe(25);
    expect((await run(expiry)).preview).toBeUndefined();
    await expectInvariants(t.db);
  });

  it('one user with corrupted data fails alone; the others expire', async () => {
    const healthy = await makeUser(t.db, { id: 'a-healthy' });
    const corrupt = await makeUser(t.db, { id: 'b-corrupt' });
    await makeBatch(t.db, { userId: healthy.id, amount: 10, expiresAt: expiry, now: granted });
    await makeBatch(t.db, { userId: corrupt.id, amount: 10, expiresAt: expiry, now: granted });
    // Someone edited the balance by hand: expiring the batch would take it below zero.
    await t.db.execute(sql`update credit_balances set balance = 5 where user_id = 'b-corrupt'`);
    const result = await run(expiry);
    expect(result.results).toMatchObject({ processedBatches: 1, totalExpiredAmount: 10, failed: 1 });
    expect(await balanceOf(t.db, healthy.id)).toBe(0);
    expect((await batchesOf(t.db, corrupt.id))[0]!.remaining).toBe(10);
    expect((await checkInvariants(t.db, { userId: corrupt.id })).ok).toBe(false);
    await expectInvariants(t.db, healthy.id);
  });
});

describe('expiry of held credits', () => {
  // userWithHold: batch `first` (30, expires 2026-06-20) and `last` (30, never), a hold of 50 taking
  // 30 from `first` and 20 from `last`, reserved at `reservedAt` for `ttl`.
  const reservedAt = at('2026-06-19T23:00:00Z');
  const afterExpiry = at('2026-06-20T04:00:00Z');
  const longHold = () => userWithHold(t.db, { ttlSeconds: 24 * 3600, now: reservedAt });

  it('a batch that expires while held loses only what was not held; captured credits count as spent on time', async () => {
    const { user, key, first } = await longHold();
    expect((await run(afterExpiry)).results).toMatchObject({ processedBatches: 1, totalExpiredAmount: 0, releasedHolds: 0 });
    expect((await batchesOf(t.db, user.id)).find((b) => b.id === first.id)).toMatchObject({ remaining: 0, expiredAmount: 0 });
    expect(await captureCredits(t.db, { holdKey: key, now: afterExpiry })).toMatchObject({ ok: true, captured: 50 });
    expect(await balanceRowOf(t.db, user.id)).toMatchObject({ balance: 10, held: 0, totalConsumed: 50, totalExpired: 0 });
    await expectInvariants(t.db);
  });

  it('credits released after their batch expired expire then: a release entry and an expire entry in the same change', async () => {
    const { user, key, first, last } = await longHold();
    await run(afterExpiry);
    expect(await releaseCredits(t.db, { holdKey: key, now: afterExpiry })).toMatchObject({ ok: true, released: 50 });
    const hold = (await ledgerOf(t.db, user.id)).filter((e) => e.operationKey === `release:${key}`);
    expect(hold.map((e) => [e.kind, e.batchId, e.delta, e.balanceAfter])).toEqual([
      ['release', last.id, 20, 30],
      ['release', first.id, 30, 60],
      ['expire', first.id, -30, 30],
    ]);
    const batches = await batchesOf(t.db, user.id);
    expect(batches.find((b) => b.id === first.id)).toMatchObject({ remaining: 0, expiredAmount: 30 });
    expect(batches.find((b) => b.id === last.id)).toMatchObject({ remaining: 30 });
    expect(await balanceRowOf(t.db, user.id)).toMatchObject({ balance: 30, held: 0, totalConsumed: 0, totalExpired: 30 });
    await expectInvariants(t.db);
  });

  it('a partial capture keeps the expired batch’s credits as spent and releases the live batch’s', async () => {
    const { user, key, first, last } = await longHold();
    await run(afterExpiry);
    // 35 captured: all 30 of `first` (burns down first) and 5 of `last`; 15 go back to `last`, nothing expires.
    expect(await captureCredits(t.db, { holdKey: key, amount: 35, now: afterExpiry })).toMatchObject({ captured: 35, released: 15 });
    const batches = await batchesOf(t.db, user.id);
    expect(batches.find((b) => b.id === first.id)).toMatchObject({ remaining: 0, expiredAmount: 0 });
    expect(batches.find((b) => b.id === last.id)).toMatchObject({ remaining: 25 });
    expect((await ledgerOf(t.db, user.id)).filter((e) => e.kind === 'expire')).toEqual([]);
    await expectInvariants(t.db);
  });

  it('a second release into the same expired batch (another hold) gets its own expire entry', async () => {
    const user = await makeUser(t.db);
    const batch = await makeBatch(t.db, { userId: user.id, amount: 30, expiresAt: at('2026-06-20T00:00:00Z'), now: granted });
    await reserveCredits(t.db, { userId: user.id, amount: 10, key: `a-${user.id}`, ttlSeconds: 86_400, now: reservedAt });
    await reserveCredits(t.db, { userId: user.id, amount: 10, key: `b-${user.id}`, ttlSeconds: 86_400, now: reservedAt });
    expect((await run(afterExpiry)).results).toMatchObject({ totalExpiredAmount: 10 });
    await releaseCredits(t.db, { holdKey: `a-${user.id}`, now: afterExpiry });
    await releaseCredits(t.db, { holdKey: `b-${user.id}`, now: afterExpiry });
    expect((await ledgerOf(t.db, user.id)).filter((e) => e.kind === 'expire').map((e) => [e.operationKey, e.delta])).toEqual([
      [`expire:${batch.id}`, -10],
      [`release:a-${user.id}`, -10],
      [`release:b-${user.id}`, -10],
    ]);
    expect((await batchesOf(t.db, user.id))[0]).toMatchObject({ remaining: 0, expiredAmount: 30 });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    await expectInvariants(t.db);
  });

  it('the job releases holds whose time ran out, then expires what they gave back to due batches, in the same run', async () => {
    const { user, key, first } = await userWithHold(t.db, { ttlSeconds: 60, now: reservedAt });
    const other = await userWithHold(t.db, { ttlSeconds: 24 * 3600, now: reservedAt }); // still inside its time
    const result = await run(afterExpiry);
    expect(result.results).toEqual({
      processedBatches: 2,
      processedUsers: 2,
      totalExpiredAmount: 30,
      failed: 0,
      releasedHolds: 1,
      totalReleasedAmount: 50,
    });
    expect(await holdOf(t.db, key)).toMatchObject({ status: 'expired', released: 50, settledAt: afterExpiry });
    expect(await holdOf(t.db, other.key)).toMatchObject({ status: 'held' });
    expect((await batchesOf(t.db, user.id)).find((b) => b.id === first.id)).toMatchObject({ remaining: 0, expiredAmount: 30 });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 30, held: 0 });
    expect((await run(afterExpiry)).results).toMatchObject({ processedBatches: 0, releasedHolds: 0 });
    await expectInvariants(t.db);
  });

  it('a dry run counts the holds it would release and changes nothing', async () => {
    const { user, key } = await userWithHold(t.db, { ttlSeconds: 60, now: reservedAt });
    const ledger = await ledgerOf(t.db, user.id);
    expect((await run(afterExpiry, { dryRun: true })).results).toMatchObject({ releasedHolds: 1, totalReleasedAmount: 50 });
    expect(await holdOf(t.db, key)).toMatchObject({ status: 'held' });
    expect(await ledgerOf(t.db, user.id)).toEqual(ledger);
    await expectInvariants(t.db);
  });
});
