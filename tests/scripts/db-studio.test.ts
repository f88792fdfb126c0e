import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runScript } from './helpers';

// `npm run db:studio` opens the app's own database: drizzle.config.ts reads the same variables as the app.
describe('db:studio', () => {
  const saved = { DATABASE_URL: process.env.DATABASE_URL, PGLITE_DATA_DIR: process.env.PGLITE_DATA_DIR };
  afterEach(() => {
    Object.assign(process.env, saved);
    vi.resetModules();
  });

  const config = async () => (await import('../../drizzle.config')).default as { driver?: string; dbCredentials?: { url: string } };

  it('uses the embedded PGlite directory of the app when DATABASE_URL is unset', async () => {
    process.env.DATABASE_URL = '';
    process.env.PGLITE_DATA_DIR = '/tmp/some-pglite';
    expect(await config()).toMatchObject({ driver: 'pglite', dbCredentials: { url: '/tmp/some-pglite' } });
  });

  it('uses DATABASE_URL when it is set', async () => {
    process.env.DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/app';
    const c = await config();
    expect(c.driver).toBeUndefined();
    expect(c.dbCredentials).toEqual({ url: 'postgres://postgres@127.0.0.1:5432/app' });
  });

  it('stops with exit 3 and says why while another process holds the embedded database', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'credits-studio-'));
    try {
      const dataDir = path.join(dir, 'db');
      writeFileSync(`${dataDir}.lock`, String(process.pid)); // this test process: alive
      const result = await runScript('db-studio', [], { DATABASE_URL: '', PGLITE_DATA_DIR: dataDir });
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/is in use by process \d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
