// npm run db:seed — fills the database with the demo users (see scripts/lib/seed.ts).
import { randomBytes } from 'node:crypto';
import { count } from 'drizzle-orm';
import { users } from '@/lib/server/db/schema';
import { openDatabaseForScript, fail, runMain } from './lib/cli';
import { parseCommandLine, usageError } from './lib/args';
import { seedDemoData } from './lib/seed';

const HELP = `
Usage: npm run db:seed [-- --force]

Creates demo users on every plan and at every stage (free, monthly due today, yearly with overdue
installments, canceled, exhausted, an anchor on the 31st, lifetime, credit packs, credits about to
expire), through the real usecases with backdated times, so every cron route has work to do.
Runs against DATABASE_URL, or the embedded PGlite in PGLITE_DATA_DIR.

Options:
  --force       seed even though the database already has users (e-mails get a +tag suffix)
  -h, --help    this help
`;

runMain(async () => {
  const { values, positionals } = parseCommandLine({ force: { type: 'boolean' } }, HELP);
  if (positionals.length > 0) usageError(`Unexpected argument "${positionals[0]}"`);
  const handle = await openDatabaseForScript();
  try {
    const [row] = await handle.db.select({ n: count() }).from(users);
    const existing = row?.n ?? 0;
    if (existing > 0 && !values.force) {
      fail(`The database (${handle.description}) already has ${existing} user(s); pass --force to add the demo users anyway.`);
    }
    const tag = existing > 0 ? randomBytes(3).toString('hex') : undefined;
    const { seeded } = await seedDemoData(handle.db, { now: new Date(), tag });
    console.log(`✔ Seeded ${seeded.length} demo users into ${handle.description}\n`);
    const width = Math.max(...seeded.map((s) => s.email.length));
    for (const s of seeded) console.log(`  ${s.email.padEnd(width)}  ${s.userId}\n  ${' '.repeat(width)}  ${s.story}`);
    console.log('\nGive the jobs their work: npm run jobs -- grant, npm run jobs -- subscription-grants, npm run jobs -- expire');
  } finally {
    await handle.close();
  }
});
