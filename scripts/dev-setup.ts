// Runs before `next dev` (npm run dev): on the first run it writes .env.local with generated secrets,
// then validates the environment, migrates the database, seeds demo data into an empty one, and
// prints curl lines to try the cron routes (with the secret itself only on that first run).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { count } from 'drizzle-orm';
import { users } from '@/lib/server/db/schema';
import { env } from '@/env';
import { openDatabaseForScript, runMain } from './lib/cli';
import { seedDemoData } from './lib/seed';

const ENV_FILE = '.env.local';

function ensureEnvFile(): boolean {
  if (existsSync(ENV_FILE)) return false;
  const secret = () => randomBytes(24).toString('hex');
  const example = existsSync('.env.example') ? readFileSync('.env.example', 'utf8') : '';
  const generated = [
    '# Written by `npm run dev` on its first run (git-ignored). Edit freely; see .env.example for every variable.',
    `CRON_SECRET=${secret()}`,
    'CRON_JOBS_USERNAME=cron',
    `CRON_JOBS_PASSWORD=${secret()}`,
    `BETTER_AUTH_SECRET=${secret()}`,
    '',
  ].join('\n');
  writeFileSync(ENV_FILE, generated + (example ? '' : ''), { mode: 0o600 });
  return true;
}

runMain(async () => {
  const created = ensureEnvFile();
  const handle = await openDatabaseForScript();
  try {
    const [row] = await handle.db.select({ n: count() }).from(users);
    let seeded = '';
    if ((row?.n ?? 0) === 0) {
      const summary = await seedDemoData(handle.db, { now: new Date() });
      seeded = `, seeded ${summary.users} demo users`;
    }
    const { CRON_SECRET, CRON_JOBS_USERNAME } = env();
    const port = process.env.PORT ?? '3000';
    console.log(`\n✔ Database ready: ${handle.description}${seeded}`);
    if (created) console.log(`✔ Wrote ${ENV_FILE} with a generated CRON_SECRET and Basic-auth credentials`);
    if (CRON_SECRET) {
      // The secret is shown once, when it was just generated; afterwards a terminal (or a CI log, a
      // screen share) only ever sees where to find it.
      const bearer = created ? CRON_SECRET : `<CRON_SECRET from ${ENV_FILE}>`;
      console.log('\nTry the cron routes once the server is up:');
      console.log(`  curl -s -H "Authorization: Bearer ${bearer}" http://localhost:${port}/api/jobs/credits/grant`);
      console.log(`  curl -s -H "Authorization: Bearer ${bearer}" http://localhost:${port}/api/cron/subscription-grants`);
      console.log(
        `  curl -s -u ${CRON_JOBS_USERNAME ?? 'cron'}:<CRON_JOBS_PASSWORD from ${ENV_FILE}> http://localhost:${port}/api/jobs/credits/expire\n`,
      );
    }
  } finally {
    await handle.close();
  }
});
