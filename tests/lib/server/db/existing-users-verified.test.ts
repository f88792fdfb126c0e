import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { migrate } from 'drizzle-orm/pglite/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { connect } from '@/lib/server/db/client';
import { migrationsFolder } from '@/lib/server/db/migrate';
import { queryRows } from '@/lib/server/db/sql';
import { migrationsUpTo } from '@tests/helpers/migrations';

// An install upgraded to verified sign-ups (docs/accounts.md): its users signed up when no address was
// checked and already hold their welcome credits, so they stay able to sign in, as verified.
const handle = await connect({ dataDir: null });
const migrateTo = (folder: string) => migrate(handle.db as unknown as PgliteDatabase, { migrationsFolder: folder });
const before = migrationsUpTo('0010_hold_functions');
afterAll(async () => {
  rmSync(before, { recursive: true, force: true });
  await handle.close();
});

it('users that existed before the upgrade are verified; a user created after it starts unverified', async () => {
  await migrateTo(before);
  await handle.db.execute(sql`insert into users (id, name, email) values ('old', 'Old', 'old@example.test')`);
  await migrateTo(migrationsFolder);
  await handle.db.execute(sql`insert into users (id, name, email) values ('new', 'New', 'new@example.test')`);
  const rows = await queryRows<{ id: string; email_verified: boolean }>(handle.db, sql`select id, email_verified from users order by id`);
  expect(rows).toEqual([
    { id: 'new', email_verified: false },
    { id: 'old', email_verified: true },
  ]);
});
