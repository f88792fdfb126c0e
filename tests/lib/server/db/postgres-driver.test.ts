import { describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { onRealServer, testServerUrl } from '../../../helpers/db';

// postgres.js 3.4.9 defers small writes with setImmediate; when a backend dies, that deferred write
// ran on a null socket and threw outside any promise, killing the process (porsager/postgres#1154,
// #1208). scripts/patch-postgres.mjs guards it at install time; this proves the guard is there.
if (!onRealServer) console.log('[postgres driver] skipped: needs TEST_DATABASE_URL (a server whose backends can be terminated)');

describe.skipIf(!onRealServer)('the postgres.js driver when its backend is terminated', () => {
  it('rejects the queries with a connection error instead of crashing the process', async () => {
    const sql = postgres(testServerUrl!, { max: 2, onnotice: () => {} });
    const killer = postgres(testServerUrl!, { max: 1, onnotice: () => {} });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const reserved = await sql.reserve();
      const [{ pid }] = await reserved`select pg_backend_pid() as pid`;
      await killer`select pg_terminate_backend(${pid})`;
      const first = await reserved`select 1`.then(() => 'ok', (error: { code?: string }) => error.code);
      const second = await Promise.race([
        reserved`select 1`.then(() => 'ok', (error: { code?: string }) => error.code),
        new Promise((resolve) => setTimeout(() => resolve('hung'), 3_000)),
      ]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(uncaught).toEqual([]);
      expect(first).toMatch(/CONNECTION_|ECONNRESET|57P01/);
      expect(second).not.toBe('hung');
      reserved.release();
      // The pool is not poisoned: a fresh query works.
      expect(await sql`select 1 as one`).toEqual([{ one: 1 }]);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      await killer.end();
      await sql.end({ timeout: 1 });
    }
  });
});
