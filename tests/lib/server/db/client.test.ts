import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, DatabaseInUseError } from '@/lib/server/db/client';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pglite-lock-'));
  dirs.push(dir);
  return path.join(dir, 'data');
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function until(condition: () => boolean, timeoutMs = 20_000) {
  for (const deadline = Date.now() + timeoutMs; !condition();) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the embedded database on disk', () => {
  it('keeps its data across a restart', async () => {
    const dataDir = tempDir();
    const first = await connect({ dataDir });
    await first.db.execute('create table kept (value text)');
    await first.db.execute("insert into kept values ('still here')");
    await first.close();
    const second = await connect({ dataDir });
    const result = (await second.db.execute('select value from kept')) as unknown as { rows: { value: string }[] };
    expect(result.rows).toEqual([{ value: 'still here' }]);
    await second.close();
  });

  it('refuses a second process while one has it open, and is free again once it closes', async () => {
    const dataDir = tempDir();
    const lockFile = `${dataDir}.lock`;
    const holder = spawn(process.execPath, [
      '-e',
      `require('fs').writeFileSync(${JSON.stringify(lockFile)}, String(process.pid)); setTimeout(() => {}, 30000)`,
    ]);
    try {
      // However slow the child is to start: wait until its lock is written, not for a fixed time.
      await until(() => existsSync(lockFile) && readFileSync(lockFile, 'utf8') === String(holder.pid));
      await expect(connect({ dataDir })).rejects.toThrow(DatabaseInUseError);
      await expect(connect({ dataDir })).rejects.toThrow(/in use by process \d+ .*DATABASE_URL/);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.on('exit', resolve));
    }
    // The holder died without cleaning up: its stale lock is taken over.
    const handle = await connect({ dataDir });
    await handle.close();
    const again = await connect({ dataDir });
    await again.close();
  });
});
