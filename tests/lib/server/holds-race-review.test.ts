import { describe, expect, it } from 'vitest';
import { setupTestDatabase, onRealServer } from '@tests/helpers/db';
import { at, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceAndHeld, holdOf } from '@tests/helpers/holds';
import { makePackPayment, reversalOf } from '@tests/helpers/payments';
import { applyBillingEvents } from '@/lib/server/usecases/apply-billing-webhook';
import { captureCredits } from '@/lib/server/usecases/capture-credits';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { releaseCredits } from '@/lib/server/usecases/release-credits';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';

// Review of the holds money path (issue 14), races the author's holds-concurrency tests do not run.
// PGlite is one connection: these run only against a Postgres server (TEST_DATABASE_URL).
if (!onRealServer) console.log('[holds race review] skipped: set TEST_DATABASE_URL to run the races against a Postgres server');

describe.runIf(onRealServer)('holds racing the payments revoke path and the timeout release (Postgres server)', () => {
  const t = setupTestDatabase({ maxConnections: 24 });

  it('reserves, captures and releases racing a full refund of the pack that pays for them: no error, nothing negative, invariants hold', async () => {
    const user = await makeUser(t.db);
    const payment = await makePackPayment(t.db, { userId: user.id, now: at('2026-03-10T12:00:00Z') });
    const now = at('2026-03-20T12:00:00Z');
    const keys = Array.from({ length: 12 }, (_, i) => `pack-hold-${i}-${user.id}`);
    const refund = reversalOf(payment, { amount: payment.amount, at: now, reversalId: 're_race' });
    const calls: Promise<unknown>[] = [
      ...keys.map((key) => reserveCredits(t.db, { userId: user.id, amount: 30, key, ttlSeconds: 60, now })),
      applyBillingEvents(t.db, { provider: 'stripe', events: [refund], now }),
    ];
    await Promise.all(calls);
    // Settle every hold that was made: half captured, half released, concurrently.
    await Promise.all(
      keys.map((key, i) =>
        i % 2 === 0 ? captureCredits(t.db, { holdKey: key, amount: 10, now }) : releaseCredits(t.db, { holdKey: key, now }),
      ),
    );
    for (const key of keys) {
      const hold = await holdOf(t.db, key);
      if (hold) expect(hold.status).not.toBe('held');
    }
    const { balance, held } = await balanceAndHeld(t.db, user.id);
    expect(balance).toBeGreaterThanOrEqual(0);
    expect(held).toBe(0);
    await expectInvariants(t.db, user.id);
  });

  it('captures exactly at expires_at racing the expiry job at that instant: each hold is released once, by one of them, and counted once', async () => {
    const reservedAt = at('2026-06-15T12:00:00Z');
    const holdExpiry = at('2026-06-15T12:01:00Z');
    const { makeBatch } = await import('@tests/helpers/factories');
    const holds: { key: string; userId: string }[] = [];
    for (let u = 0; u < 10; u++) {
      const user = await makeUser(t.db);
      await makeBatch(t.db, { userId: user.id, amount: 50, expiresAt: null, now: at('2026-06-01T00:00:00Z') });
      for (let h = 0; h < 2; h++) {
        const key = `edge-${h}-${user.id}`;
        expect(await reserveCredits(t.db, { userId: user.id, amount: 20, key, ttlSeconds: 60, now: reservedAt })).toMatchObject({
          ok: true,
        });
        holds.push({ key, userId: user.id });
      }
    }
    const captures = holds.map((h) => captureCredits(t.db, { holdKey: h.key, userId: h.userId, now: holdExpiry }));
    const jobs = [
      expireCredits(t.db, { trigger: 'test', now: holdExpiry, chunkSize: 3 }),
      expireCredits(t.db, { trigger: 'test', now: holdExpiry, chunkSize: 4 }),
    ];
    const [captured, ran] = await Promise.all([Promise.all(captures), Promise.all(jobs)]);
    // At expires_at a capture is too late: every one is refused, every hold released exactly once.
    expect(captured.every((c) => !c.ok && c.reason === 'hold_expired')).toBe(true);
    const releasedByJobs = ran.reduce((n, r) => n + r.results.releasedHolds, 0);
    expect(ran.every((r) => r.results.failed === 0)).toBe(true);
    expect(releasedByJobs).toBeLessThanOrEqual(holds.length);
    for (const h of holds) expect(await holdOf(t.db, h.key)).toMatchObject({ status: 'expired', released: 20, captured: 0 });
    for (const userId of new Set(holds.map((h) => h.userId))) expect(await balanceAndHeld(t.db, userId)).toEqual({ balance: 50, held: 0 });
    await expectInvariants(t.db);
  });
});
