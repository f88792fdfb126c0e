// Shared by every script: loads .env files the way Next does, validates them with the app's env
// module, and turns failures into one clear line and an exit code instead of a stack trace.
import nextEnv from '@next/env';
import { env, EnvError } from '@/env';
import { openMigratedDatabase, connectOptionsFromEnv } from '@/lib/server/db';
import { DatabaseInUseError, type DatabaseHandle } from '@/lib/server/db/client';
import { isConnectionError } from '@/lib/server/db/sql';
import { CliExit, exitCodes, fail } from '../cli/io';

export { fail };

export function loadEnvFiles(dev = true) {
  nextEnv.loadEnvConfig(process.cwd(), dev, { info: () => {}, error: console.error });
}

/** The validated environment, or exit 3 naming what is wrong. */
export function checkedEnv() {
  loadEnvFiles();
  try {
    return env();
  } catch (error) {
    if (error instanceof EnvError) fail(error.message, exitCodes.cannotRun);
    throw error;
  }
}

/** Loads and validates the environment, then opens the database (migrated); exit 3 when it cannot. */
export async function openDatabaseForScript(): Promise<DatabaseHandle> {
  checkedEnv();
  const options = connectOptionsFromEnv();
  try {
    return await openMigratedDatabase(options);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof DatabaseInUseError) fail(message, exitCodes.cannotRun);
    return fail(
      `Cannot open the database (${'url' in options ? 'DATABASE_URL' : `PGlite in ${options.dataDir}`}): ${message}`,
      exitCodes.cannotRun,
    );
  }
}

/** Prints how a command ended and returns its exit code: a `CliExit` says which; a lost database is 3; anything else 1. */
export function reportFailure(error: unknown): number {
  if (error instanceof CliExit) {
    console.error(`✖ ${error.message}`);
    return error.exitCode;
  }
  console.error(`✖ ${error instanceof Error ? error.message : String(error)}`);
  if (process.env.DEBUG) console.error(error);
  return isConnectionError(error) ? exitCodes.cannotRun : exitCodes.failed;
}

/** Runs a script's main function with clean error reporting. */
export function runMain(main: () => Promise<void>) {
  main().then(
    () => process.exit(exitCodes.ok),
    (error: unknown) => process.exit(reportFailure(error)),
  );
}
