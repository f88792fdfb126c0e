import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema';

/**
 * The database or a transaction: both drivers (postgres.js and PGlite) produce one of these,
 * and a transaction is itself a `Database`, so query functions and usecases accept either.
 */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
