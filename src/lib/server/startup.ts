import 'server-only';
import { env, EnvError } from '@/env';
import { connectOptionsFromEnv, getDb } from '@/lib/server/db';

/** Validates the environment and opens (and migrates) the database; exits with one clear line on a bad variable. */
export async function startServer() {
  try {
    env();
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(`\n✖ ${error.message}\n  Fix it in .env.local (or the host's environment) and start again.\n`);
      process.exit(1);
    }
    throw error;
  }
  const options = connectOptionsFromEnv();
  try {
    await getDb();
    console.log(
      `[db] ready: ${'url' in options ? 'Postgres server (DATABASE_URL)' : `embedded PGlite in ${options.dataDir}`}, migrations applied`,
    );
  } catch (error) {
    // Not fatal: routes answer 503 until the database is reachable, and retry on each request.
    console.error(`[db] not ready yet: ${error instanceof Error ? error.message : String(error)}`);
  }
}
