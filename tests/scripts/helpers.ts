import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '@/lib/server/db/client';
import { migrateDatabase } from '@/lib/server/db/migrate';
import type { Database } from '@/lib/server/db/types';
import { createTestDatabase, onRealServer } from '@tests/helpers/db';

const root = path.resolve(import.meta.dirname, '../..');

export type ScriptResult = { code: number | null; stdout: string; stderr: string };

/**
 * A database that both this test process and a spawned script can use: a fresh database on the
 * TEST_DATABASE_URL server (kept open here), or an on-disk PGlite in a temporary directory, which
 * only one process may hold at a time, so `use` opens it around each step and closes it again.
 */
export async function createScriptDatabase() {
  if (onRealServer) {
    const t = await createTestDatabase();
    return {
      env: { DATABASE_URL: t.url! } as Record<string, string>,
      use: <T>(fn: (db: Database) => Promise<T>) => fn(t.db),
      drop: () => t.drop(),
    };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'credits-script-'));
  const options = { dataDir: dir };
  return {
    // An empty DATABASE_URL keeps a developer's .env.local from pointing the script elsewhere.
    env: { DATABASE_URL: '', PGLITE_DATA_DIR: dir } as Record<string, string>,
    use: async <T>(fn: (db: Database) => Promise<T>) => {
      const handle = await connect(options);
      try {
        await migrateDatabase(handle, options);
        return await fn(handle.db);
      } finally {
        await handle.close();
      }
    },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export type ScriptDatabase = Awaited<ReturnType<typeof createScriptDatabase>>;

/** Runs `npm run -s credits -- <args>` the way npm does (tsx with the react-server condition), without npm's overhead. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<ScriptResult> {
  return runScript('credits', args, env);
}

/**
 * Runs `npm run <script>` the way npm does (tsx with the react-server condition), without npm's overhead.
 * `cwd`: another project directory to run in (its own .env files); the repository's tsconfig still resolves `@/`.
 * An `undefined` in `env` removes that variable.
 */
export function runScript(
  file: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  { cwd = root }: { cwd?: string } = {},
): Promise<ScriptResult> {
  const elsewhere = cwd !== root;
  return run(
    path.join(root, 'node_modules/.bin/tsx'),
    ['--conditions=react-server', elsewhere ? path.join(root, 'scripts', `${file}.ts`) : `scripts/${file}.ts`, ...args],
    elsewhere ? { TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.json'), ...env } : env,
    cwd,
  );
}

/** Runs a shell command line exactly as an operator would type it (`npm run -s … | jq …`), in the repository. */
export function runShell(commandLine: string, env: Record<string, string> = {}): Promise<ScriptResult> {
  return run('bash', ['-o', 'pipefail', '-c', commandLine], env);
}

function run(command: string, args: string[], env: Record<string, string | undefined>, cwd = root): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, DATABASE_URL: '', CRON_TIME_BUDGET_MS: '20000', CREDITS_CHUNK_SIZE: '1000', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The final JSON a script prints on stdout. */
export function jsonOutput<T = Record<string, unknown>>(result: ScriptResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${result.code}):\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
  }
}
