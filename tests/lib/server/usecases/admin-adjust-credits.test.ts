import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { adminAudit } from '@/lib/server/db/schema';
import { adminAdjustCredits } from '@/lib/server/usecases/admin-adjust-credits';
import { setupTestDatabase } from '@tests/helpers/db';
import { at, makeAdmin, makeBatch, makeUser } from '@tests/helpers/factories';
import { expectInvariants } from '@tests/helpers/invariants';
import { balanceOf, ledgerOf } from '@tests/helpers/queries';

const t = setupTestDatabase();
const now = at('2026-11-22T09:00:00Z');
const auditOf = (key: string) => t.db.select().from(adminAudit).where(eq(adminAudit.idempotencyKey, key));

describe('adminAdjustCredits', () => {
  it('gives credits as an adjust entry naming the admin, and records it with its outcome, in one go', async () => {
    const admin = await makeAdmin(t.db);
    const user = await makeUser(t.db);
    const key = randomUUID();

    const result = await adminAdjustCredits(t.db, {
      adminUserId: admin.id,
      userId: user.id,
      delta: 500,
      reason: 'outage 11-21',
      idempotencyKey: key,
      now,
    });

    expect(result).toMatchObject({ ok: true, delta: 500, balanceAfter: 500, replayed: false, operationKey: `admin:console:${key}` });
    const [entry] = await ledgerOf(t.db, user.id);
    expect(entry).toMatchObject({ kind: 'adjust', delta: 500, operationKey: `admin:console:${key}` });
    expect(entry!.metadata).toEqual({ reason: 'outage 11-21', actor: `admin:${admin.email}` });
    const [row] = await auditOf(key);
    expect(row).toMatchObject({
      adminUserId: admin.id,
      adminEmail: admin.email,
      action: 'adjust_credits',
      targetUserId: user.id,
      params: { userId: user.id, delta: 500, reason: 'outage 11-21', validityDays: null, category: 'promotional' },
      outcome: { ok: true, delta: 500, balanceAfter: 500 },
    });
    expect(row!.completedAt).not.toBeNull();
    await expectInvariants(t.db);
  });

  it('the same form sent twice adjusts once and replays the first outcome; the key with another amount is refused', async () => {
    const admin = await makeAdmin(t.db);
    const user = await makeUser(t.db);
    const key = randomUUID();
    const params = { adminUserId: admin.id, userId: user.id, delta: 200, reason: 'ticket 4711', idempotencyKey: key, now };

    const [first, second] = await Promise.all([adminAdjustCredits(t.db, params), adminAdjustCredits(t.db, params)]);
    const third = await adminAdjustCredits(t.db, params);

    expect([first, second].filter((r) => r.ok && !r.replayed)).toHaveLength(1);
    expect(third).toMatchObject({ ok: true, replayed: true, delta: 200, balanceAfter: 200 });
    expect(await balanceOf(t.db, user.id)).toBe(200);
    expect(await ledgerOf(t.db, user.id)).toHaveLength(1);
    expect(await auditOf(key)).toHaveLength(1);
    expect(await adminAdjustCredits(t.db, { ...params, delta: 300 })).toMatchObject({ ok: false, reason: 'idempotency_conflict' });
    expect(await balanceOf(t.db, user.id)).toBe(200);
    await expectInvariants(t.db);
  });

  it('a deduction below zero is refused with insufficient_credits, takes nothing, and is recorded as refused', async () => {
    const admin = await makeAdmin(t.db);
    const user = await makeUser(t.db);
    await makeBatch(t.db, { userId: user.id, amount: 100, now });
    const key = randomUUID();

    const result = await adminAdjustCredits(t.db, {
      adminUserId: admin.id,
      userId: user.id,
      delta: -150,
      reason: 'chargeback',
      idempotencyKey: key,
      now,
    });

    expect(result).toMatchObject({ ok: false, reason: 'insufficient_credits', requested: 150, available: 100 });
    expect(await balanceOf(t.db, user.id)).toBe(100);
    expect((await ledgerOf(t.db, user.id)).map((e) => e.kind)).toEqual(['grant']);
    const [row] = await auditOf(key);
    expect(row!.outcome).toMatchObject({ ok: false, reason: 'insufficient_credits', requested: 150, available: 100 });

    // A deduction the user can afford takes credits in burn-down order, as an adjust entry.
    const deducted = await adminAdjustCredits(t.db, {
      adminUserId: admin.id,
      userId: user.id,
      delta: -40,
      reason: 'chargeback',
      idempotencyKey: randomUUID(),
      now,
    });
    expect(deducted).toMatchObject({ ok: true, delta: -40, balanceAfter: 60 });
    await expectInvariants(t.db);
  });

  it('a non-admin is refused and nothing is written, not even an audit row', async () => {
    const notAdmin = await makeUser(t.db);
    const user = await makeUser(t.db);
    const key = randomUUID();

    const result = await adminAdjustCredits(t.db, {
      adminUserId: notAdmin.id,
      userId: user.id,
      delta: 500,
      reason: 'me',
      idempotencyKey: key,
      now,
    });

    expect(result).toMatchObject({ ok: false, reason: 'not_admin' });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    expect(await auditOf(key)).toEqual([]);
    await expectInvariants(t.db);
  });

  it('an unknown user or an empty reason is refused and recorded, with no credits written', async () => {
    const admin = await makeAdmin(t.db);
    const user = await makeUser(t.db);
    const unknownKey = randomUUID();
    const noReasonKey = randomUUID();

    expect(
      await adminAdjustCredits(t.db, { adminUserId: admin.id, userId: 'nobody', delta: 5, reason: 'x', idempotencyKey: unknownKey, now }),
    ).toMatchObject({
      ok: false,
      reason: 'unknown_user',
    });
    expect(
      await adminAdjustCredits(t.db, { adminUserId: admin.id, userId: user.id, delta: 5, reason: '  ', idempotencyKey: noReasonKey, now }),
    ).toMatchObject({
      ok: false,
      reason: 'invalid_reason',
    });

    const [unknown] = await auditOf(unknownKey);
    expect(unknown).toMatchObject({ targetUserId: null, params: { userId: 'nobody' }, outcome: { ok: false, reason: 'unknown_user' } });
    expect((await auditOf(noReasonKey))[0]!.outcome).toMatchObject({ ok: false, reason: 'invalid_reason' });
    expect(await balanceOf(t.db, user.id)).toBe(0);
    await expectInvariants(t.db);
  });
});
