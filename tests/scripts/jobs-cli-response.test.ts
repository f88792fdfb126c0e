import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSubscription, makeUser } from '@tests/helpers/factories';
import { createScriptDatabase, runCli, type ScriptDatabase } from './helpers';

let t: ScriptDatabase;
beforeAll(async () => {
  t = await createScriptDatabase();
});
afterAll(async () => {
  await t?.drop();
});

/** The answer a call printed on stderr: `[jobs <job> call N] {…}`. */
function callAnswer(stderr: string, job: string): Record<string, unknown> {
  const line = stderr.split('\n').find((l) => l.startsWith(`[jobs ${job} call 1] {`));
  if (!line) throw new Error(`no answer line for ${job} in:\n${stderr}`);
  return JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>;
}

describe('npm run jobs prints each call as the route answers it', () => {
  // The CLI once rebuilt each answer by hand and dropped the installment job's `failed`.
  it.each([
    ['grant', ['success', 'jobId', 'date', 'duration', 'results', 'hasMore'], ['processed', 'successful', 'skipped', 'failed']],
    [
      'expire',
      ['success', 'jobId', 'duration', 'results', 'hasMore'],
      ['processedBatches', 'processedUsers', 'totalExpiredAmount', 'failed', 'releasedHolds', 'totalReleasedAmount'],
    ],
    ['subscription-grants', ['processed', 'schedulesTouched', 'failed', 'jobId', 'duration', 'hasMore', 'grants'], null],
    ['expiring-soon', ['success', 'jobId', 'duration', 'results', 'hasMore'], ['users', 'batches', 'credits', 'failed']],
  ] as const)('%s: the same keys in the same order as its route', async (job, keys, resultKeys) => {
    if (job === 'subscription-grants') {
      await t.use(async (db) => {
        const user = await makeUser(db);
        // Bought 40 days ago: the second installment is due.
        await makeSubscription(db, { userId: user.id, planId: 'pro-yearly', now: new Date(Date.now() - 40 * 86_400_000) });
      });
    }

    const result = await runCli(['jobs', job, '--once'], t.env);

    expect(result.code, result.stderr).toBe(0);
    const answer = callAnswer(result.stderr, job);
    expect(Object.keys(answer)).toEqual(keys);
    if (resultKeys) expect(Object.keys(answer.results as object)).toEqual(resultKeys);
    if (job === 'subscription-grants') expect(answer).toMatchObject({ processed: 1, schedulesTouched: 1, failed: 0 });
  });
});
