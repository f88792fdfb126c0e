import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScript } from './helpers';

// `npm run dev`'s setup in a fresh project directory: it writes .env.local once, and shows the cron
// secret it generated on that first run only.
const root = path.resolve(import.meta.dirname, '../..');
let project: string;

// Nothing from this machine's environment: the project's own .env.local is all the script reads.
const clean = {
  CRON_SECRET: undefined,
  CRON_JOBS_USERNAME: undefined,
  CRON_JOBS_PASSWORD: undefined,
  BETTER_AUTH_SECRET: undefined,
  DATABASE_URL: undefined,
  NODE_ENV: undefined,
};

beforeAll(() => {
  project = mkdtempSync(path.join(tmpdir(), 'credits-dev-setup-'));
  // The migrations are read from the working directory, as `npm run dev` reads them from the repository.
  symlinkSync(path.join(root, 'drizzle'), path.join(project, 'drizzle'));
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

const setup = () => runScript('dev-setup', [], { ...clean, PGLITE_DATA_DIR: path.join(project, 'pglite') }, { cwd: project });
const cronSecretIn = (file: string) => /^CRON_SECRET=(.+)$/m.exec(readFileSync(file, 'utf8'))![1]!;

describe('npm run dev (scripts/dev-setup.ts)', () => {
  it('prints the generated cron secret when it writes .env.local, and only a placeholder on every later run', async () => {
    const first = await setup();
    expect(first.code, first.stderr).toBe(0);
    const secret = cronSecretIn(path.join(project, '.env.local'));
    expect(secret).toMatch(/^[0-9a-f]{48}$/);
    expect(first.stdout).toContain('Wrote .env.local');
    expect(first.stdout).toContain(`Authorization: Bearer ${secret}`);

    const second = await setup();
    expect(second.code, second.stderr).toBe(0);
    expect(cronSecretIn(path.join(project, '.env.local'))).toBe(secret);
    expect(second.stdout + second.stderr).not.toContain(secret);
    expect(second.stdout).not.toContain('Wrote .env.local');
    expect(second.stdout).toContain(
      'curl -s -H "Authorization: Bearer <CRON_SECRET from .env.local>" http://localhost:3000/api/jobs/credits/grant',
    );
    expect(second.stdout).toContain('<CRON_JOBS_PASSWORD from .env.local>');
  });
});
