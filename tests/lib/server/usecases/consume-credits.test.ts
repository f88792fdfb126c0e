import { describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { setupTestDatabase, onRealServer } from '@tests/helpers/db';
import { at, makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants, ledgerChainBreaks } from '@tests/helpers/invariants';
import { balanceOf, batchesOf, ledgerOf } from '@tests/helpers/queries';
import { creditOperations } from '@/lib/server/db/schema';
import { debitCredits, type DebitParams, type DebitResult } from '@/lib/server/credits/debit';
import { debitCreditsInSteps } from '@/lib/server/credits/debit-in-steps';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { adjustCredits } from '@/lib/server/usecases/adjust-credits';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';
import { balanceAndHeld, holdOf } from '@tests/helpers/holds';

const t = setupTestDatabase();

const now = at('2026-06-15T12:00:00Z');

type Debit = (db: typeof t.db, params: DebitParams) => Promise<DebitResult>;
// Every consumption rule runs against both paths: the one database call the usecases take
// (credits_debit, migration 0005) and the five-round-trip path it replaced, kept as the bench's baseline.
const debitPaths: [name: string, debit: Debit, other: Debit][] = [
  ['one call (credits_debit)', debitCredits, debitCreditsInSteps],
  ['in steps', debitCreditsInSteps, debitCredits],
];

describe.each(debitPaths)('a debit %s', (_path, debit, otherPath) => {
  // What consumeCredits and adjustCredits (a negative delta) pass to the debit.
  const consume = (userId: string, amount: number, key: string, when = now) =>
    debit(t.db, { userId, amount, idempotencyKey: key, kind: 'consume', metadata: { reason: 'test' }, now: when });
  const deduct = (userId: string, amount: number, key: string, reason = 'test') =>
    debit(t.db, { userId, amount, idempotencyKey: key, kind: 'adjust', metadata: { reason }, now });

  describe('burn-down order', () => {
    // Each case grants two batches, `first` then `second` (so `first` has the lower id), and takes 10 of
    // their 20 credits: the batch named by `goesFirst` must be the one emptied. Every rule is shown
    // winning against the rules after it, so dropping or reordering any tie-break fails a case.
    type Lot = { category: 'paid' | 'promotional'; expiresAt: string | null; effectiveAt: string };
    const lot = (category: Lot['category'], expiresAt: string | null, effectiveAt = '2026-06-01T00:00:00Z'): Lot => ({
      category,
      expiresAt,
      effectiveAt,
    });
    const cases: [rule: string, first: Lot, second: Lot, goesFirst: 'first' | 'second'][] = [
      [
        'the soonest expiry goes first, even when granted later',
        lot('paid', '2026-07-01T00:00:00Z'),
        lot('paid', '2026-06-20T00:00:00Z'),
        'second',
      ],
      [
        'a sooner expiry goes first even when it is paid and the later one promotional',
        lot('promotional', '2026-07-01T00:00:00Z'),
        lot('paid', '2026-06-20T00:00:00Z'),
        'second',
      ],
      [
        'never-expiring credits go last, even when older',
        lot('paid', null, '2026-05-01T00:00:00Z'),
        lot('paid', '2030-01-01T00:00:00Z'),
        'second',
      ],
      [
        'never-expiring credits go last, even when promotional against paid',
        lot('promotional', null),
        lot('paid', '2030-01-01T00:00:00Z'),
        'second',
      ],
      [
        'at the same expiry, promotional before paid, even when the paid is older',
        lot('paid', '2026-07-01T00:00:00Z', '2026-06-01T00:00:00Z'),
        lot('promotional', '2026-07-01T00:00:00Z', '2026-06-10T00:00:00Z'),
        'second',
      ],
      ['among never-expiring credits, promotional before paid', lot('paid', null), lot('promotional', null), 'second'],
      [
        'at the same expiry and category, the oldest (effective first) goes first',
        lot('promotional', '2026-07-01T00:00:00Z', '2026-06-10T00:00:00Z'),
        lot('promotional', '2026-07-01T00:00:00Z', '2026-06-05T00:00:00Z'),
        'second',
      ],
      [
        'among never-expiring credits of one category, the oldest goes first',
        lot('paid', null, '2026-06-10T00:00:00Z'),
        lot('paid', null, '2026-06-05T00:00:00Z'),
        'second',
      ],
      [
        'identical batches go in the order they were granted (id)',
        lot('paid', '2026-07-01T00:00:00Z'),
        lot('paid', '2026-07-01T00:00:00Z'),
        'first',
      ],
    ];
    const spends = {
      consumption: (userId: string, key: string) => consume(userId, 10, key),
      'negative adjustment': (userId: string, key: string) => deduct(userId, 10, key),
    };

    describe.each(Object.keys(spends) as (keyof typeof spends)[])('a %s', (how) => {
      it.each(cases)('%s', async (_rule, first, second, goesFirst) => {
        const user = await makeUser(t.db);
        const grant = (l: Lot) =>
          makeBatch(t.db, {
            userId: user.id,
            amount: 10,
            category: l.category,
            expiresAt: l.expiresAt ? at(l.expiresAt) : null,
            effectiveAt: at(l.effectiveAt),
            now: at(l.effectiveAt),
          });
        const a = await grant(first);
        const b = await grant(second);
        expect(b.id).toBeGreaterThan(a.id);
        expect(await spends[how](user.id, `order-${user.id}`)).toMatchObject({ ok: true, balanceAfter: 10 });
        const taken = goesFirst === 'first' ? a : b;
        const kept = goesFirst === 'first' ? b : a;
        const remaining = Object.fromEntries((await batchesOf(t.db, user.id)).map((batch) => [batch.id, batch.remaining]));
        expect(remaining).toEqual({ [taken.id]: 0, [kept.id]: 10 });
        const [entry] = (await ledgerOf(t.db, user.id)).filter((e) => e.delta < 0);
        expect(entry).toMatchObject({ batchId: taken.id, delta: -10 });
        await expectInvariants(t.db, user.id);
      });
    });

    it('six batches are taken one after another in that order', async () => {
      const user = await makeUser(t.db);
      const past = at('2026-06-01T00:00:00Z');
      const neverPaid = await makeBatch(t.db, {
        userId: user.id,
        amount: 10,
        category: 'paid',
        expiresAt: null,
        effectiveAt: past,
        now: past,
      });
      const neverPromo = await makeBatch(t.db, {
        userId: user.id,
        amount: 10,
        category: 'promotional',
        expiresAt: null,
        effectiveAt: past,
        now: past,
      });
      const julyPaid = await makeBatch(t.db, {
        userId: user.id,
        amount: 10,
        category: 'paid',
        expiresAt: at('2026-07-01T00:00:00Z'),
        effectiveAt: past,
        now: past,
      });
      const julyPromoNewer = await makeBatch(t.db, {
        userId: user.id,
        amount: 10,
        category: 'promotional',
        expiresAt: at('2026-07-01T00:00:00Z'),
        effectiveAt: at('2026-06-10T00:00:00Z'),
        now: past,
      });
      const julyPromoOlder = await makeBatch(t.db, {
        userId: user.id,
        amount: 10,
        category: 'promotional',
        expiresAt: at('2026-07-01T00:00:00Z'),
        effectiveAt: at('2026-06-05T00:00:00Z'),
        now: past,
      });
      const june20 = await makeBatch(t.db, {
        userId: user.id,
        amount: 10,
        category: 'paid',
        expiresAt: at('2026-06-20T00:00:00Z'),
        effectiveAt: past,
        now: past,
      });

      const expectedOrder = [june20, julyPromoOlder, julyPromoNewer, julyPaid, neverPromo, neverPaid].map((b) => b.id);
      // Spend the batches one at a time and watch which one empties.
      const emptied: number[] = [];
      for (let i = 0; i < 6; i++) {
        const result = await consume(user.id, 10, `order-${user.id}-${i}`);
        expect(result).toMatchObject({ ok: true, entries: 1 });
        const batches = await batchesOf(t.db, user.id);
        emptied.push(...batches.filter((b) => b.remaining === 0 && !emptied.includes(b.id)).map((b) => b.id));
      }
      expect(emptied).toEqual(expectedOrder);
      expect(await balanceOf(t.db, user.id)).toBe(0);
      await expectInvariants(t.db, user.id);
    });

    it('a consumption spanning three batches writes three entries under one key', async () => {
      const user = await makeUser(t.db);
      await makeBatch(t.db, { userId: user.id, amount: 5, expiresAt: at('2026-06-20T00:00:00Z'), now: at('2026-06-01T00:00:00Z') });
      await makeBatch(t.db, { userId: user.id, amount: 5, expiresAt: at('2026-06-25T00:00:00Z'), now: at('2026-06-01T00:00:00Z') });
      await makeBatch(t.db, { userId: user.id, amount: 5, expiresAt: null, now: at('2026-06-01T00:00:00Z') });
      const result = await consume(user.id, 12, `span-3-${user.id}`);
      expect(result).toMatchObject({ ok: true, replayed: false, balanceAfter: 3, entries: 3 });
      const entries = (await ledgerOf(t.db, user.id)).filter((e) => e.kind === 'consume');
      expect(entries.map((e) => [e.delta, e.balanceAfter, e.operationKey])).toEqual([
        [-5, 10, `span-3-${user.id}`],
        [-5, 5, `span-3-${user.id}`],
        [-2, 3, `span-3-${user.id}`],
      ]);
      expect(entries[0]!.metadata).toEqual({ reason: 'test' });
      await expectInvariants(t.db, user.id);
    });
  });

  describe('what can be spent', () => {
    it('a batch stops being spendable at the exact instant it expires', async () => {
      const user = await makeUser(t.db);
      const expiresAt = at('2026-06-15T12:00:00Z');
      await makeBatch(t.db, { userId: user.id, amount: 10, expiresAt, now: at('2026-06-01T00:00:00Z') });
      const oneMsBefore = new Date(expiresAt.getTime() - 1);
      expect(await consume(user.id, 1, `boundary-before-${user.id}`, oneMsBefore)).toMatchObject({ ok: true });
      expect(await consume(user.id, 1, `boundary-at-${user.id}`, expiresAt)).toMatchObject({
        ok: false,
        reason: 'insufficient_credits',
        requested: 1,
        available: 0,
      });
      await expectInvariants(t.db, user.id);
    });

    it('a batch is not spendable before it becomes effective', async () => {
      const user = await makeUser(t.db);
      await makeBatch(t.db, { userId: user.id, amount: 10, effectiveAt: at('2026-07-01T00:00:00Z'), expiresAt: null, now });
      expect(await consume(user.id, 1, `early-${user.id}`)).toMatchObject({ ok: false, reason: 'insufficient_credits', available: 0 });
      expect(await consume(user.id, 1, `effective-${user.id}`, at('2026-07-01T00:00:00Z'))).toMatchObject({ ok: true, balanceAfter: 9 });
    });

    it('insufficient credits is a value, and nothing is written', async () => {
      const user = await makeUser(t.db);
      await makeBatch(t.db, { userId: user.id, amount: 30, now });
      const ledgerBefore = await ledgerOf(t.db, user.id);
      const result = await consume(user.id, 31, `short-${user.id}`);
      expect(result).toEqual({ ok: false, reason: 'insufficient_credits', requested: 31, available: 30 });
      expect(await balanceOf(t.db, user.id)).toBe(30);
      expect(await ledgerOf(t.db, user.id)).toEqual(ledgerBefore);
      expect((await batchesOf(t.db, user.id))[0]!.remaining).toBe(30);
      // The key was not used up: the same attempt succeeds once credits arrive.
      await makeBatch(t.db, { userId: user.id, amount: 1, now });
      expect(await consume(user.id, 31, `short-${user.id}`)).toMatchObject({ ok: true, balanceAfter: 0 });
      await expectInvariants(t.db, user.id);
    });

    it('a user with no balance row at all is short, not an error', async () => {
      const user = await makeUser(t.db);
      expect(await consume(user.id, 1, `nobody-${user.id}`)).toMatchObject({ ok: false, reason: 'insufficient_credits', available: 0 });
    });

    it.each([0, -1, 2.5, Number.NaN])('refuses an amount of %s', async (amount) => {
      const user = await makeUser(t.db);
      expect(await consume(user.id, amount, `bad-amount-${amount}-${user.id}`)).toMatchObject({ ok: false, reason: 'invalid_amount' });
    });
  });

  describe('idempotency', () => {
    it('a repeated key changes nothing and reports the original outcome', async () => {
      const user = await makeUser(t.db);
      await makeBatch(t.db, { userId: user.id, amount: 50, now });
      const first = await consume(user.id, 20, `retry-${user.id}`);
      const retry = await consume(user.id, 20, `retry-${user.id}`);
      expect(first).toMatchObject({ ok: true, replayed: false, balanceAfter: 30 });
      expect(retry).toMatchObject({ ok: true, replayed: true, balanceAfter: 30, amount: 20 });
      expect(await balanceOf(t.db, user.id)).toBe(30);
      expect((await ledgerOf(t.db, user.id)).filter((e) => e.kind === 'consume')).toHaveLength(1);
      await expectInvariants(t.db, user.id);
    });

    it('a key reused for a different amount or user is refused', async () => {
      const a = await makeUser(t.db);
      const b = await makeUser(t.db);
      await makeBatch(t.db, { userId: a.id, amount: 50, now });
      await makeBatch(t.db, { userId: b.id, amount: 50, now });
      const key = `reused-key-${a.id}`;
      await consume(a.id, 5, key);
      expect(await consume(a.id, 6, key)).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
      expect(await consume(b.id, 5, key)).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
      expect(await deduct(a.id, 5, key)).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
      expect(await balanceOf(t.db, b.id)).toBe(50);
      await expectInvariants(t.db);
    });
  });

  describe('a key names one thing', () => {
    it('a key used for a grant cannot be spent under, and a key used for a spend cannot grant', async () => {
      const user = await makeUser(t.db);
      await adjustCredits(t.db, { userId: user.id, delta: 100, reason: 'goodwill', idempotencyKey: `fix-${user.id}`, now });
      // The operator re-runs the correction with the sign flipped by mistake: refused, nothing written.
      expect(await deduct(user.id, 100, `fix-${user.id}`, 'oops')).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
      // Nor can a spend take the grant's key, whatever its amount.
      expect(await consume(user.id, 100, `fix-${user.id}`)).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
      await consume(user.id, 5, `spend-${user.id}`);
      expect(
        await adjustCredits(t.db, { userId: user.id, delta: 5, reason: 'refund', idempotencyKey: `spend-${user.id}`, now }),
      ).toMatchObject({
        ok: false,
        reason: 'idempotency_conflict',
      });
      expect(await balanceOf(t.db, user.id)).toBe(95);
      await expectInvariants(t.db, user.id);
    });
  });

  describe('what is kept, and keys from elsewhere', () => {
    it('the operation keeps the request { debit: kind, userId, amount }, its amount and the balance after', async () => {
      const user = await makeUser(t.db);
      await makeBatch(t.db, { userId: user.id, amount: 50, now });
      await consume(user.id, 20, `kept-${user.id}`);
      await deduct(user.id, 5, `kept-adj-${user.id}`);
      const operations = await t.db.select().from(creditOperations).where(eq(creditOperations.userId, user.id));
      const kept = Object.fromEntries(operations.map((o) => [o.key, [o.kind, o.amount, o.balanceAfter, o.request, o.metadata]]));
      expect(kept[`kept-${user.id}`]).toEqual(['consume', 20, 30, { debit: 'consume', userId: user.id, amount: 20 }, { reason: 'test' }]);
      expect(kept[`kept-adj-${user.id}`]).toEqual(['adjust', 5, 25, { debit: 'adjust', userId: user.id, amount: 5 }, { reason: 'test' }]);
      await expectInvariants(t.db, user.id);
    });

    it('a key spent through the other path is a replay here, and a conflict for another amount', async () => {
      const user = await makeUser(t.db);
      await makeBatch(t.db, { userId: user.id, amount: 5, expiresAt: at('2026-07-01T00:00:00Z'), now });
      await makeBatch(t.db, { userId: user.id, amount: 50, now });
      const params: DebitParams = {
        userId: user.id,
        amount: 8,
        idempotencyKey: `across-${user.id}`,
        kind: 'consume',
        metadata: { reason: 'test' },
        now,
      };
      expect(await otherPath(t.db, params)).toEqual({ ok: true, replayed: false, amount: 8, balanceAfter: 47, entries: 2 });
      expect(await consume(user.id, 8, `across-${user.id}`)).toEqual({ ok: true, replayed: true, amount: 8, balanceAfter: 47, entries: 2 });
      expect(await consume(user.id, 9, `across-${user.id}`)).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
      expect(await balanceOf(t.db, user.id)).toBe(47);
      await expectInvariants(t.db, user.id);
    });

    it('a user with no balance row, under a key another user spent: a conflict, not short', async () => {
      const spender = await makeUser(t.db);
      const nobody = await makeUser(t.db);
      await makeBatch(t.db, { userId: spender.id, amount: 10, now });
      await consume(spender.id, 3, `theirs-${spender.id}`);
      expect(await consume(nobody.id, 3, `theirs-${spender.id}`)).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
      expect(await balanceOf(t.db, nobody.id)).toBe(0);
    });

    it('keys written before requests were kept (migration 0003): the same spend replays, a grant of the same size stays a grant', async () => {
      // What the database held then, written by hand: an operator's grant of 10 and a spend of 4 from it,
      // their operation rows without a request.
      const user = await makeUser(t.db);
      const grantKey = `legacy-grant-${user.id}`;
      const spendKey = `legacy-spend-${user.id}`;
      const created = '2026-06-01T00:00:00Z';
      await t.db.execute(sql`
        with batch as (
          insert into credit_batches (user_id, amount, remaining, source, category, effective_at, idempotency_key, created_at)
          values (${user.id}, 10, 6, 'admin', 'promotional', ${created}::timestamptz, ${grantKey}, ${created}::timestamptz) returning id
        ), entries as (
          insert into credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, created_at)
          select ${user.id}, e.delta, e.balance_after, e.kind, batch.id, e.key, ${created}::timestamptz
            from batch, (values (10, 10, 'adjust', ${grantKey}), (-4, 6, 'consume', ${spendKey})) as e(delta, balance_after, kind, key)
        ), operations as (
          insert into credit_operations (key, user_id, kind, amount, balance_after, created_at)
          values (${grantKey}, ${user.id}, 'adjust', 10, 10, ${created}::timestamptz), (${spendKey}, ${user.id}, 'consume', 4, 6, ${created}::timestamptz)
        )
        insert into credit_balances (user_id, balance, total_granted, total_consumed, updated_at)
        values (${user.id}, 6, 10, 4, ${created}::timestamptz)`);
      await expectInvariants(t.db, user.id);
      expect(await consume(user.id, 4, spendKey)).toEqual({ ok: true, replayed: true, amount: 4, balanceAfter: 6, entries: 1 });
      expect(await consume(user.id, 5, spendKey)).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
      expect(await deduct(user.id, 4, spendKey)).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
      // Same user, amount and kind as the grant's row: only its batch shows it was a grant.
      expect(await deduct(user.id, 10, grantKey)).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
      expect(await balanceOf(t.db, user.id)).toBe(6);
      await expectInvariants(t.db, user.id);
    });
  });

  // PGlite is one connection: only a Postgres server runs two spends of one user at the same moment.
  describe.skipIf(!onRealServer)('spends at the same moment (Postgres server)', () => {
    it('each of 20 simultaneous spends starts from the balance the one before it left (the balance row is locked first)', async () => {
      const user = await makeUser(t.db);
      await makeBatch(t.db, { userId: user.id, amount: 10, expiresAt: at('2026-07-01T00:00:00Z'), now });
      await makeBatch(t.db, { userId: user.id, amount: 10, expiresAt: null, now });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => consume(user.id, 1, `together-${user.id}-${i}`)));
      const after = results.map((r) => (r.ok ? r.balanceAfter : r.reason));
      expect(after.sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(await ledgerChainBreaks(t.db, user.id)).toEqual([]);
      await expectInvariants(t.db, user.id);
    });

    it('negative adjustments racing consumptions each see the other: every ledger entry follows from the one before', async () => {
      const user = await makeUser(t.db);
      await makeBatch(t.db, { userId: user.id, amount: 40, expiresAt: null, now });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 2 ? consume(user.id, 2, `race-consume-${user.id}-${i}`) : deduct(user.id, 2, `race-adjust-${user.id}-${i}`, 'race'),
        ),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      expect(await balanceOf(t.db, user.id)).toBe(0);
      expect(await ledgerChainBreaks(t.db, user.id)).toEqual([]);
      await expectInvariants(t.db, user.id);
    });
  });
});

describe('consumeCredits', () => {
  it("spends through the debit with the reason and the caller's metadata on every entry and on the operation", async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 5, expiresAt: at('2026-07-01T00:00:00Z'), now });
    await makeBatch(t.db, { userId: user.id, amount: 20, now });
    const key = `usecase-${user.id}`;
    const params = { userId: user.id, amount: 8, reason: 'export', idempotencyKey: key, metadata: { file: 'a.pdf' }, now };
    expect(await consumeCredits(t.db, params)).toEqual({ ok: true, replayed: false, amount: 8, balanceAfter: 17, entries: 2 });
    expect(await consumeCredits(t.db, params)).toEqual({ ok: true, replayed: true, amount: 8, balanceAfter: 17, entries: 2 });
    const entries = (await ledgerOf(t.db, user.id)).filter((e) => e.operationKey === key);
    expect(entries.map((e) => [e.kind, e.delta, e.metadata])).toEqual([
      ['consume', -5, { reason: 'export', file: 'a.pdf' }],
      ['consume', -3, { reason: 'export', file: 'a.pdf' }],
    ]);
    const [operation] = await t.db.select().from(creditOperations).where(eq(creditOperations.key, key));
    expect(operation).toMatchObject({ kind: 'consume', amount: 8, metadata: { reason: 'export', file: 'a.pdf' } });
    await expectInvariants(t.db, user.id);
  });

  it('releases the user’s holds whose time ran out before it spends: their credits are spendable at once', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 10, now });
    const holdKey = `timed-out-${user.id}`;
    expect(await reserveCredits(t.db, { userId: user.id, amount: 10, key: holdKey, ttlSeconds: 60, now })).toMatchObject({ ok: true });
    const later = new Date(now.getTime() + 61_000);
    expect(
      await consumeCredits(t.db, { userId: user.id, amount: 10, reason: 'x', idempotencyKey: `after-${user.id}`, now: later }),
    ).toEqual({
      ok: true,
      replayed: false,
      amount: 10,
      balanceAfter: 0,
      entries: 1,
    });
    expect(await holdOf(t.db, holdKey)).toMatchObject({ status: 'expired', released: 10 });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 0, held: 0 });
    await expectInvariants(t.db, user.id);
  });
});

describe('admin adjustments', () => {
  it('a positive adjustment is a promotional batch with the reason in the ledger', async () => {
    const user = await makeUser(t.db);
    const result = await adjustCredits(t.db, {
      userId: user.id,
      delta: 75,
      reason: 'support ticket 42',
      idempotencyKey: `adj-${user.id}`,
      actor: 'ops@example.com',
      validityDays: 10,
      now,
    });
    expect(result).toMatchObject({ ok: true, replayed: false });
    const [batch] = await batchesOf(t.db, user.id);
    expect(batch).toMatchObject({ source: 'admin', amount: 75, category: 'promotional', expiresAt: at('2026-06-25T12:00:00Z') });
    const [entry] = await ledgerOf(t.db, user.id);
    expect(entry).toMatchObject({ kind: 'adjust', delta: 75, metadata: { reason: 'support ticket 42', actor: 'ops@example.com' } });
    await expectInvariants(t.db, user.id);
  });

  it('a negative adjustment takes credits in burn-down order and never goes below zero', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 40, now });
    expect(
      await adjustCredits(t.db, { userId: user.id, delta: -41, reason: 'too much', idempotencyKey: `neg-big-${user.id}`, now }),
    ).toMatchObject({
      ok: false,
      reason: 'insufficient_credits',
      available: 40,
    });
    expect(
      await adjustCredits(t.db, { userId: user.id, delta: -15, reason: 'refund reversed', idempotencyKey: `neg-${user.id}`, now }),
    ).toMatchObject({
      ok: true,
      balanceAfter: 25,
    });
    const entries = await ledgerOf(t.db, user.id);
    expect(entries.at(-1)).toMatchObject({ kind: 'adjust', delta: -15, balanceAfter: 25 });
    expect(await adjustCredits(t.db, { userId: user.id, delta: 0, reason: 'noop', idempotencyKey: `zero-${user.id}`, now })).toMatchObject({
      ok: false,
      reason: 'invalid_amount',
    });
    await expectInvariants(t.db, user.id);
  });
});
