import { expect, it } from 'vitest';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeBatch, makeSubscription, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf } from '@tests/helpers/queries';
import { jobNames } from '@/lib/server/jobs/catalog';
import { jobs, type JobDefinition } from '@/lib/server/jobs/registry';

const t = setupTestDatabase({ emptyBeforeEach: true });
const now = at('2025-04-20T00:00:00Z');

/**
 * Work due for every job on `now`: a free user's monthly credits, a batch expiring, a yearly plan's
 * installments, and (for a verified user) a batch expiring within the week.
 */
async function dueWork() {
  const user = await makeUser(t.db, { id: 'a-user', now: at('2025-01-10T00:00:00Z'), emailVerified: true });
  await makeBatch(t.db, { userId: user.id, amount: 30, expiresAt: at('2025-04-19T00:00:00Z'), now: at('2025-01-10T00:00:00Z') });
  await makeBatch(t.db, { userId: user.id, amount: 20, expiresAt: at('2025-04-23T00:00:00Z'), now: at('2025-01-10T00:00:00Z') });
  const yearly = await makeUser(t.db, { id: 'b-yearly', now: at('2025-01-10T00:00:00Z') });
  await makeSubscription(t.db, { userId: yearly.id, planId: 'pro-yearly', subscriptionId: 'sub-preview', now: at('2025-01-15T00:00:00Z') });
  return { user, yearly };
}

const call = (job: JobDefinition, query: Record<string, unknown>) =>
  job.run(t.db, { trigger: 'test', now, query, timeBudgetMs: 20_000, chunkSize: 1_000 });

it.each(jobNames)(
  '%s: a dry run names the first rows it would write (users and what), and how many in all; a real run names none',
  async (name) => {
    const { user, yearly } = await dueWork();
    const before = { user: await balanceOf(t.db, user.id), yearly: await balanceOf(t.db, yearly.id) };
    const job = jobs[name] as unknown as JobDefinition;

    const dry = await call(job, { dryRun: true });
    const preview = job.preview(dry, { dryRun: true });
    expect(preview, name).not.toBeNull();
    expect(preview!.rows.length).toBeGreaterThan(0);
    expect(preview!.total).toBeGreaterThanOrEqual(preview!.rows.length);
    for (const row of preview!.rows) expect([user.id, yearly.id]).toContain(row.userId);
    // Nothing was written.
    expect({ user: await balanceOf(t.db, user.id), yearly: await balanceOf(t.db, yearly.id) }).toEqual(before);

    const real = await call(job, {});
    expect(job.preview(real, {})).toBeNull();
    await expectInvariants(t.db);
  },
);
