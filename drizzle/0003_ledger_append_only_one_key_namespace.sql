-- History is append-only, enforced by the database: a stray query or a bad migration cannot rewrite it.
-- Ledger entries and operations are never updated or deleted; batches are never deleted, and an update
-- may change only what a consumption, a void or the expiry job changes (remaining, expired_at,
-- expired_amount). TRUNCATE is left to the operator (it is no accident) and the tests' resets.
CREATE FUNCTION credits_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'credits history is append-only: % on % refused', TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;
--> statement-breakpoint
CREATE TRIGGER credit_ledger_append_only BEFORE UPDATE OR DELETE ON credit_ledger
  FOR EACH ROW EXECUTE FUNCTION credits_refuse_rewrite();
--> statement-breakpoint
CREATE TRIGGER credit_operations_append_only BEFORE UPDATE OR DELETE ON credit_operations
  FOR EACH ROW EXECUTE FUNCTION credits_refuse_rewrite();
--> statement-breakpoint
CREATE TRIGGER credit_batches_no_delete BEFORE DELETE ON credit_batches
  FOR EACH ROW EXECUTE FUNCTION credits_refuse_rewrite();
--> statement-breakpoint
-- `UPDATE OF` fires only when one of these columns is in the SET list, so the jobs' updates of
-- remaining/expired_* pay nothing. A column added to credit_batches later must be added here.
CREATE TRIGGER credit_batches_append_only
  BEFORE UPDATE OF id, user_id, amount, source, category, effective_at, expires_at, idempotency_key,
                   subscription_id, schedule_id, installment, purchase_id, job_run_id, created_at
  ON credit_batches
  FOR EACH ROW EXECUTE FUNCTION credits_refuse_rewrite();
--> statement-breakpoint
-- One key namespace: every grant now writes an operation row under its batch's key, so the operations'
-- primary key refuses a key used for a grant and a spend. Existing grants get theirs here.
INSERT INTO credit_operations (key, user_id, kind, amount, balance_after, created_at)
SELECT b.idempotency_key, b.user_id, l.kind, b.amount, l.balance_after, b.created_at
  FROM credit_batches b
  JOIN credit_ledger l ON l.batch_id = b.id AND l.delta > 0 AND l.kind IN ('grant', 'adjust', 'refund')
ON CONFLICT (key) DO NOTHING;
--> statement-breakpoint
-- A yearly plan's term: twelve months from its anchor, or longer where an existing schedule's
-- installments run past twelve months (the config accepted such plans before): what was paid for is kept.
UPDATE subscriptions s
   SET ends_at = s.anchor_at + make_interval(months => greatest(12, cs.installments_total * cs.interval_months))
  FROM credit_schedules cs
 WHERE cs.subscription_id = s.id AND s.billing = 'yearly' AND s.ends_at IS NULL;
--> statement-breakpoint
UPDATE subscriptions SET ends_at = anchor_at + interval '12 months' WHERE billing = 'yearly' AND ends_at IS NULL;
