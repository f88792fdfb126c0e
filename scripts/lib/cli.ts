// Shared by every script: loads .env files the way Next does, validates them with the app's env
// module, and turns failures into one clear line and a non-zero exit instead of a stack trace.
import nextEnv from '@next/env';
import { env, EnvError } from '@/env';
import { openMigratedDatabase, connectOptionsFromEnv } from '@/lib/server/db';
import { DatabaseInUseError, type DatabaseHandle } from '@/lib/server/db/client';

export function loadEnvFiles(dev = true) {
  nextEnv.loadEnvConfig(process.cwd(), dev, { info: () => {}, error: console.error });
}

export function fail(message: string, code = 1): never {
  console.error(`✖ ${message}`);
  process.exit(code);
}

/** Loads and validates the environment, then opens the database (migrated). */
export async function openDatabaseForScript(): Promise<DatabaseHandle> {
  loadEnvFiles();
  try {
    env();
  } catch (error) {
    if (error instanceof EnvError) fail(error.message);
    throw error;
  }
  const options = connectOptionsFromEnv();
  try {
    return await openMigratedDatabase(options);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof DatabaseInUseError) fail(message);
    fail(`Cannot open the database (${'url' in options ? 'DATABASE_URL' : `PGlite in ${options.dataDir}`}): ${message}`);
  }
}

/** Runs a script's main function with clean error reporting. */
export function runMain(main: () => Promise<void>) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`✖ ${error instanceof Error ? error.message : String(error)}`);
      if (process.env.DEBUG) console.error(error);
      process.exit(1);
    },
  );
}
