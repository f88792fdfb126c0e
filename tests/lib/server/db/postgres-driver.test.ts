import { describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { onRealServer, testServerUrl } from '@tests/helpers/db';

// postgres.js 3.4.9 defers small writes with setImmediate; when a backend dies, that deferred write
// ran on a null socket and threw outside any promise, killing the process (porsager/postgres#1154,
// #1208). patches/postgres+3.4.9.patch guards it (patch-package applies it at install and fails the
// install if it no longer applies); this proves the guard is there.
if (!onRealServer) console.log('[postgres driver] skipped: needs TEST_DATABASE_URL (a server whose backends can be terminated)');

const settle = (query: Promise<unknown>) =>
  Promise.race([
    query.then(
      () => 'ok',
      (error: { code?: string }) => `rejected:${error.code}`,
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve('pending'), 2_000)),
  ]);

describe.skipIf(!onRealServer)('the postgres.js driver when its backend is terminated', () => {
  it('rejects the query with a connection error instead of crashing the process, and the pool recovers', async () => {
    const sql = postgres(testServerUrl!, { max: 2, onnotice: () => {} });
    const killer = postgres(testServerUrl!, { max: 1, onnotice: () => {} });
    const escaped: unknown[] = [];
    const onEscape = (error: unknown) => escaped.push(error);
    process.prependListener('uncaughtException', onEscape);
    process.prependListener('unhandledRejection', onEscape);
    try {
      const reserved = await sql.reserve();
      const [{ pid }] = (await reserved`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
      await killer`select pg_terminate_backend(${pid})`;
      expect(await settle(reserved`select 1`)).toMatch(/^rejected:(CONNECTION_\w+|ECONNRESET|57P01)$/);
      // The next write on the dead connection is the one that used to throw from setImmediate.
      await settle(reserved`select 1`);
      reserved.release();
      // The pool drops the dead connection: at most one more query fails, then queries work again.
      const attempts: string[] = [];
      for (let i = 0; i < 3 && attempts.at(-1) !== 'ok'; i++) attempts.push(await settle(sql`select 1`));
      expect(attempts.at(-1)).toBe('ok');
      expect(escaped).toEqual([]);
    } finally {
      process.removeListener('uncaughtException', onEscape);
      process.removeListener('unhandledRejection', onEscape);
      await killer.end();
      await sql.end({ timeout: 1 });
    }
  });
});
