import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { E2E_DIST_DIR, e2eServerUrl } from './helpers/app';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * Runs once before the e2e files: refuses to go on without a Postgres server (a suite that passes
 * because it tested nothing is worse than a red one), then builds the app once into .next-e2e.
 * `E2E_SKIP_BUILD=1` reuses an existing build.
 */
export default async function setup() {
  const client = postgres(e2eServerUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await client`select 1`;
  } catch (error) {
    throw new Error(
      `The end-to-end suite needs a Postgres server at ${e2eServerUrl} (set E2E_DATABASE_URL to use another): ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    await client.end({ timeout: 1 });
  }

  if (process.env.E2E_SKIP_BUILD === '1' && existsSync(path.join(root, E2E_DIST_DIR, 'BUILD_ID'))) {
    console.log(`[e2e] reusing the build in ${E2E_DIST_DIR} (E2E_SKIP_BUILD=1)`);
    return;
  }
  console.log(`[e2e] building the app into ${E2E_DIST_DIR}…`);
  // `next build` points next-env.d.ts at its own dist dir; give a developer's `.next` setup back afterwards.
  const nextEnv = path.join(root, 'next-env.d.ts');
  const nextEnvBefore = existsSync(nextEnv) ? readFileSync(nextEnv, 'utf8') : null;
  const build = spawnSync(process.execPath, [path.join(root, 'node_modules/next/dist/bin/next'), 'build'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production', NEXT_DIST_DIR: E2E_DIST_DIR, NEXT_TELEMETRY_DISABLED: '1' },
  });
  if (nextEnvBefore !== null) writeFileSync(nextEnv, nextEnvBefore);
  if (build.status !== 0) throw new Error(`next build failed (exit ${build.status})`);
}
