import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestDatabase } from '@tests/helpers/db';
import { makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceAndHeld, holdOf } from '@tests/helpers/holds';
import { expireCredits } from '@/lib/server/usecases/expire-credits';
import { reserveCredits } from '@/lib/server/usecases/reserve-credits';
import { requireRealServer } from './helpers';

beforeAll(() => requireRealServer());
const t = setupTestDatabase();

/** Starts the worker and resolves once its hold is written (it printed "reserved"); the worker then hangs in its work. */
function startWorker(userId: string, key: string, cost: number, ttlSeconds: number) {
  // `node --import tsx`, not the `tsx` command, so the SIGKILL reaches the process holding the credits.
  const child = spawn(
    process.execPath,
    [
      '--conditions=react-server',
      '--import',
      'tsx',
      'tests/reliability/fixtures/hold-worker.ts',
      userId,
      key,
      String(cost),
      String(ttlSeconds),
    ],
    { env: { ...process.env, DATABASE_URL: t.url! }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const reserved = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (data: Buffer) => {
      if (data.toString().includes('reserved')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`the worker exited (${code}) before it reserved`)));
  });
  return { child, reserved, exited };
}

describe('a worker killed between reserve and capture', () => {
  it('leaves a hold that the expiry job releases once its time runs out: the credits are back', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 100 });
    const key = `crashed-${user.id}`;
    const worker = startWorker(user.id, key, 40, 60);
    await worker.reserved;
    worker.child.kill('SIGKILL');
    expect(await worker.exited).toBe('SIGKILL');

    // The credits stay held until the hold's time runs out: nothing gives them back early.
    expect(await holdOf(t.db, key)).toMatchObject({ status: 'held', amount: 40 });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 60, held: 40 });
    const hold = (await holdOf(t.db, key))!;
    expect((await expireCredits(t.db, { trigger: 'test', now: new Date(hold.expiresAt.getTime() - 1) })).results).toMatchObject({
      releasedHolds: 0,
    });

    const run = await expireCredits(t.db, { trigger: 'test', now: hold.expiresAt });
    expect(run.results).toMatchObject({ releasedHolds: 1, totalReleasedAmount: 40, failed: 0 });
    expect(await holdOf(t.db, key)).toMatchObject({ status: 'expired', released: 40, captured: 0 });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 100, held: 0 });
    await expectInvariants(t.db);
  });

  it('the same user’s next request gets the credits back at once, without waiting for the job', async () => {
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 50 });
    const key = `crashed-${user.id}`;
    const worker = startWorker(user.id, key, 40, 60);
    await worker.reserved;
    worker.child.kill('SIGKILL');
    await worker.exited;
    const hold = (await holdOf(t.db, key))!;
    expect(await reserveCredits(t.db, { userId: user.id, amount: 45, key: `retry-${user.id}`, now: hold.expiresAt })).toMatchObject({
      ok: true,
    });
    expect(await holdOf(t.db, key)).toMatchObject({ status: 'expired' });
    expect(await balanceAndHeld(t.db, user.id)).toEqual({ balance: 5, held: 45 });
    await expectInvariants(t.db);
  });
});
