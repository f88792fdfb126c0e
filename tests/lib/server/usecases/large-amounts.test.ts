import { describe, expect, it } from 'vitest';
import { setupTestDatabase, emptyCreditsTables } from '@tests/helpers/db';
import { at, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf } from '@tests/helpers/queries';
import { creditsConfig, creditsConfigSchema, MAX_CREDITS } from '@/config/credits';
import { grantCredits } from '@/lib/server/usecases/grant-credits';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { adjustCredits } from '@/lib/server/usecases/adjust-credits';
import { startSubscription } from '@/lib/server/usecases/start-subscription';
import { processDueSchedules } from '@/lib/server/usecases/process-due-schedules';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';

const t = setupTestDatabase();

const grant = (userId: string, amount: number, key = `big-${userId}-${amount}-${Math.random()}`) =>
  grantCredits(t.db, { userId, amount, source: 'admin', category: 'paid', expiresAt: null, idempotencyKey: key });

// Teams that price in tokens reach billions of credits: amounts, balances and totals are 64-bit,
// bounded by MAX_CREDITS (2^53 - 1, the largest whole number JavaScript holds exactly).
describe('amounts beyond 32 bits', () => {
  it('a grant of 2 147 483 648 credits, and two of 1.5 billion to one user', async () => {
    const user = await makeUser(t.db);
    expect(await grant(user.id, 2_147_483_648)).toMatchObject({ ok: true, balanceAfter: 2_147_483_648 });
    const other = await makeUser(t.db);
    await grant(other.id, 1_500_000_000);
    expect(await grant(other.id, 1_500_000_000)).toMatchObject({ ok: true, balanceAfter: 3_000_000_000 });
    expect(
      await consumeCredits(t.db, { userId: other.id, amount: 2_999_999_999, reason: 'tokens', idempotencyKey: `spend-${other.id}` }),
    ).toMatchObject({
      ok: true,
      balanceAfter: 1,
    });
    expect(await balanceOf(t.db, other.id)).toBe(1);
    await expectInvariants(t.db);
  });

  it('a plan of 5 000 000 000 credits passes config validation and pays out', async () => {
    const config = creditsConfigSchema.parse({
      ...creditsConfig,
      plans: [
        {
          id: 'tokens-yearly',
          name: 'Tokens',
          billing: 'yearly',
          price: { amount: 100_000, currency: 'usd' },
          totalCredits: 5_000_000_000,
          installments: 12,
          intervalMonths: 1,
          validityDays: null,
          category: 'paid',
        },
      ],
    });
    const user = await makeUser(t.db);
    const started = await startSubscription(t.db, {
      userId: user.id,
      planId: 'tokens-yearly',
      subscriptionId: `sub-${user.id}`,
      now: at('2026-01-01T00:00:00Z'),
      config,
    });
    expect(started).toMatchObject({ ok: true, firstGrant: { ok: true, batch: { amount: 416_666_666 } } });
    await processDueSchedules(t.db, { trigger: 'test', now: at('2027-01-01T00:00:00Z') });
    expect(await balanceOf(t.db, user.id)).toBe(5_000_000_000);
    await expectInvariants(t.db);
  });

  it('config refuses an amount above MAX_CREDITS', () => {
    const parsed = creditsConfigSchema.safeParse({
      ...creditsConfig,
      packs: [
        {
          id: 'huge',
          name: 'Huge',
          price: { amount: 100, currency: 'usd' },
          credits: MAX_CREDITS + 1,
          validityDays: null,
          category: 'paid',
        },
      ],
    });
    expect(parsed.success).toBe(false);
  });

  it.each([
    ['a grant above MAX_CREDITS', (u: string) => grant(u, MAX_CREDITS + 1), 'amount_out_of_range'],
    [
      'a spend above MAX_CREDITS',
      (u: string) => consumeCredits(t.db, { userId: u, amount: 2 ** 60, reason: 'x', idempotencyKey: `x-${u}` }),
      'amount_out_of_range',
    ],
    [
      'an adjustment below -MAX_CREDITS',
      (u: string) => adjustCredits(t.db, { userId: u, delta: -(2 ** 60), reason: 'x', idempotencyKey: `a-${u}` }),
      'amount_out_of_range',
    ],
    ['a fractional amount', (u: string) => grant(u, 1.5), 'invalid_amount'],
  ])('%s is a typed result, and nothing is written', async (_name, call, reason) => {
    const user = await makeUser(t.db);
    expect(await call(user.id)).toMatchObject({ ok: false, reason });
    expect(await balanceOf(t.db, user.id)).toBe(0);
  });

  it('a grant that would take a balance past MAX_CREDITS is refused, and the balance is unchanged', async () => {
    const user = await makeUser(t.db);
    await grant(user.id, MAX_CREDITS - 10);
    expect(await grant(user.id, 11)).toMatchObject({ ok: false, reason: 'balance_out_of_range' });
    expect(await balanceOf(t.db, user.id)).toBe(MAX_CREDITS - 10);
    await expectInvariants(t.db, user.id);
  });

  it('a chunk whose credits add up past 2^53 is reported, not failed: each balance is within bounds', async () => {
    const huge = 2 ** 51;
    const config = creditsConfigSchema.parse({
      ...creditsConfig,
      plans: [
        {
          id: 'huge-monthly',
          name: 'Huge',
          billing: 'monthly',
          price: { amount: 100_000, currency: 'usd' },
          creditsPerPeriod: huge,
          graceDays: 0,
          category: 'paid',
        },
      ],
    });
    await emptyCreditsTables(t.db); // the job walks every user
    for (let i = 0; i < 5; i++) {
      const user = await makeUser(t.db);
      await startSubscription(t.db, {
        userId: user.id,
        planId: 'huge-monthly',
        subscriptionId: `huge-${i}`,
        now: at('2026-01-10T00:00:00Z'),
        config,
      });
    }
    const run = await grantMonthlyCredits(t.db, { trigger: 'test', now: at('2026-02-10T01:00:00Z'), config });
    expect(run.results).toMatchObject({ successful: 5, failed: 0 });
    expect(run.results.creditsGranted).toBe(5 * huge);
    await expectInvariants(t.db);
  });
});
