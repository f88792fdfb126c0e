import { loadEnvConfig } from '@next/env';
import { defineConfig } from 'drizzle-kit';

// `drizzle-kit generate` only diffs the schema against the committed migrations; it needs no database.
// `db:migrate` goes through our own runner (scripts/db-migrate.ts), which also serves the embedded PGlite.
// `db:studio` (scripts/db-studio.ts) opens the app's own database: the same .env files as the app, then
// DATABASE_URL when set, otherwise the embedded PGlite directory through drizzle-kit's PGlite driver.
loadEnvConfig(process.cwd(), true, { info: () => {}, error: console.error });
const databaseUrl = process.env.DATABASE_URL || undefined;
const pgliteDir = process.env.PGLITE_DATA_DIR || '.data/pglite';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/lib/server/db/schema.ts',
  out: './drizzle',
  ...(databaseUrl ? { dbCredentials: { url: databaseUrl } } : { driver: 'pglite', dbCredentials: { url: pgliteDir } }),
});
