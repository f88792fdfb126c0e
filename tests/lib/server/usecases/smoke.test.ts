import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../helpers/db';
import { at, makeRegisteredUser, makeSubscription } from '../../../helpers/factories';
import { expectInvariants } from '../../../helpers/invariants';
import { grantMonthlyCredits } from '@/lib/server/usecases/grant-monthly-credits';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { processDueSchedules } from '@/lib/server/usecases/process-due-schedules';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { getCreditSummary } from '@/lib/server/usecases/get-credit-summary';
import { getCreditHistory } from '@/lib/server/usecases/get-credit-history';

let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t?.drop(); });

it('smoke', async () => {
  const now = at('2026-01-15T00:00:00Z');
  const a = await makeRegisteredUser(t.db, now);
  const b = await makeRegisteredUser(t.db, now);
  await makeSubscription(t.db, { userId: b.id, planId: 'pro-yearly', now });
  const c = await makeRegisteredUser(t.db, now);
  await makeSubscription(t.db, { userId: c.id, planId: 'pro-monthly', now });
  const d = await makeRegisteredUser(t.db, now);
  await makeSubscription(t.db, { userId: d.id, planId: 'lifetime', now });
  const later = at('2026-04-20T00:00:00Z');
  const g = await grantMonthlyCredits(t.db, { trigger: 'test', now: later });
  console.log(JSON.stringify(g));
  const s = await processDueSchedules(t.db, { trigger: 'test', now: later });
  console.log(JSON.stringify(s));
  const e = await expireCredits(t.db, { trigger: 'test', now: later });
  console.log(JSON.stringify(e));
  const consumed = await consumeCredits(t.db, { userId: b.id, amount: 100, reason: 'x', idempotencyKey: 'c1', now: later });
  console.log(JSON.stringify(consumed));
  console.log(JSON.stringify(await getCreditSummary(t.db, { userId: b.id, now: later })));
  console.log(JSON.stringify((await getCreditHistory(t.db, { userId: b.id })).entries.length));
  expect(g.results.successful).toBeGreaterThan(0);
  await expectInvariants(t.db);
  void a;
});
