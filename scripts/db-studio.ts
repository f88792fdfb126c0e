// npm run db:studio — Drizzle Studio on the app's own database (drizzle.config.ts picks DATABASE_URL or
// the embedded PGlite directory). PGlite serves one process at a time: the directory is opened (and
// migrated) here first, which stops with exit 3 while `npm run dev` holds it, and then held for Studio
// with its process id in the lock file, so the app refuses to open it while Studio runs.
import { spawn } from 'node:child_process';
import { unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connectOptionsFromEnv } from '@/lib/server/db';
import { openDatabaseForScript, runMain } from './lib/cli';

runMain(async () => {
  const handle = await openDatabaseForScript();
  await handle.close();
  const options = connectOptionsFromEnv();
  console.error(`Drizzle Studio on ${handle.description}`);
  const studio = spawn(path.resolve('node_modules/.bin/drizzle-kit'), ['studio', ...process.argv.slice(2)], { stdio: 'inherit' });
  const lockFile = 'dataDir' in options && options.dataDir ? `${path.resolve(options.dataDir)}.lock` : null;
  if (lockFile) writeFileSync(lockFile, String(studio.pid), { flag: 'wx' });
  const stop = (signal: NodeJS.Signals) => studio.kill(signal);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const code = await new Promise<number>((resolve) => studio.on('close', (c) => resolve(c ?? 1)));
  if (lockFile) unlinkSync(lockFile);
  if (code !== 0) process.exit(code);
});
