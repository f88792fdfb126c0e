// npm run db:migrate — applies the committed migrations in drizzle/ to DATABASE_URL, or to the embedded PGlite.
import { openDatabaseForScript, runMain } from './lib/cli';

runMain(async () => {
  const handle = await openDatabaseForScript();
  console.log(`✔ Migrations applied to ${handle.description}`);
  await handle.close();
});
