import { defineConfig } from 'drizzle-kit';

// `drizzle-kit generate` only diffs the schema against the committed migrations; it needs no database.
// `db:migrate` goes through our own runner (scripts/db-migrate.ts), which also serves the embedded PGlite.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/lib/server/db/schema.ts',
  out: './drizzle',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
});
