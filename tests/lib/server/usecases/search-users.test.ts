import { describe, expect, it } from 'vitest';
import { users } from '@/lib/server/db/schema';
import { searchUsers } from '@/lib/server/usecases/search-users';
import { setupTestDatabase } from '@tests/helpers/db';
import { makeBatch } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';

const t = setupTestDatabase();

describe('searchUsers', () => {
  it('finds users by exact id or by a part of their e-mail (any case, % and _ taken literally), with their balance', async () => {
    await t.db.insert(users).values([
      { id: 'u-alice', email: 'alice@example.test', name: 'Alice' },
      { id: 'u-bob', email: 'bob_smith@example.test', name: 'Bob' },
      { id: 'u-carol', email: 'carol@other.test', name: 'Carol' },
    ]);
    await makeBatch(t.db, { userId: 'u-alice', amount: 70 });

    expect((await searchUsers(t.db, { query: 'ALICE' })).map((u) => [u.id, u.balance])).toEqual([['u-alice', 70]]);
    expect((await searchUsers(t.db, { query: 'u-carol' })).map((u) => u.id)).toEqual(['u-carol']);
    expect((await searchUsers(t.db, { query: 'example.test' })).map((u) => u.id).sort()).toEqual(['u-alice', 'u-bob']);
    expect((await searchUsers(t.db, { query: 'b_s' })).map((u) => u.id)).toEqual(['u-bob']);
    expect(await searchUsers(t.db, { query: '%' })).toEqual([]);
    expect(await searchUsers(t.db, { query: 'nobody' })).toEqual([]);
    await expectInvariants(t.db);
  });
});
