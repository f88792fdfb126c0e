import { beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { queryRows } from '@/lib/server/db/sql';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { grantCredits } from '@/lib/server/usecases/grant-credits';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { adjustCredits } from '@/lib/server/usecases/adjust-credits';
import { setupTestDatabase } from '@tests/helpers/db';
import { makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { requireRealServer } from './helpers';

const WORKERS = 64;
const USERS = 100;
const SECONDS = Number(process.env.STORM_SECONDS ?? 20);

beforeAll(() => requireRealServer());
const t = setupTestDatabase({ maxConnections: WORKERS });

describe('a consumption storm', () => {
  it(`${WORKERS} workers consuming, granting and expiring for the same ${USERS} users for ${SECONDS} s: nothing negative, no error but InsufficientCredits, invariants hold`, async () => {
    const users = await Promise.all(Array.from({ length: USERS }, () => makeUser(t.db)));
    const stopAt = Date.now() + SECONDS * 1_000;
    const tally = { consumed: 0, insufficient: 0, granted: 0, expiryRuns: 0, grantRuns: 0, adjustments: 0 };
    const errors: unknown[] = [];
    const pick = () => users[Math.floor(Math.random() * users.length)]!.id;

    async function worker(n: number) {
      while (Date.now() < stopAt) {
        const roll = Math.random();
        try {
          if (roll < 0.7) {
            const result = await consumeCredits(t.db, {
              userId: pick(),
              amount: 1 + Math.floor(Math.random() * 20),
              reason: 'storm',
              idempotencyKey: randomUUID(),
            });
            if (result.ok) tally.consumed += 1;
            else if (result.reason === 'insufficient_credits') tally.insufficient += 1;
            else throw new Error(`unexpected outcome ${JSON.stringify(result)}`);
          } else if (roll < 0.93) {
            // Short-lived credits, so that expiry always has something to take while others spend them.
            const result = await grantCredits(t.db, {
              userId: pick(),
              amount: 5 + Math.floor(Math.random() * 50),
              source: 'admin',
              category: Math.random() < 0.5 ? 'paid' : 'promotional',
              idempotencyKey: randomUUID(),
              expiresAt: Math.random() < 0.7 ? new Date(Date.now() + 200 + Math.random() * 800) : null,
            });
            if (!result.ok) throw new Error(`grant refused: ${result.message}`);
            tally.granted += 1;
          } else if (roll < 0.96) {
            await expireCredits(t.db, { trigger: 'test', chunkSize: 20 });
            tally.expiryRuns += 1;
          } else if (roll < 0.98) {
            await grantMonthlyCredits(t.db, { trigger: 'test', chunkSize: 25 });
            tally.grantRuns += 1;
          } else {
            const result = await adjustCredits(t.db, {
              userId: pick(),
              delta: Math.random() < 0.5 ? 3 : -3,
              reason: 'storm',
              idempotencyKey: randomUUID(),
            });
            if (!result.ok && result.reason !== 'insufficient_credits') throw new Error(`adjust refused: ${JSON.stringify(result)}`);
            tally.adjustments += 1;
          }
        } catch (error) {
          errors.push({ worker: n, error: String(error) });
        }
      }
    }

    await Promise.all(Array.from({ length: WORKERS }, (_, n) => worker(n)));
    console.log(`[storm] ${JSON.stringify(tally)}`);
    expect(errors).toEqual([]);
    expect(tally.consumed).toBeGreaterThan(100);
    expect(tally.insufficient).toBeGreaterThan(0);
    expect(tally.expiryRuns).toBeGreaterThan(0);
    const [row] = await queryRows<{ negative: number; expired: number }>(
      t.db,
      sql`select (select count(*) from credit_balances where balance < 0)::int as negative,
                 (select count(*) from credit_ledger where kind = 'expire')::int as expired`,
    );
    expect(row!.negative).toBe(0);
    expect(row!.expired).toBeGreaterThan(0);
    await expectInvariants(t.db);
  });
});
