import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
    const holder = spawn(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(`${dataDir}.lock`)}, String(process.pid)); setTimeout(() => {}, 30000)`]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    try {
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
