-- The admin audit trail is append-only, enforced by the database: a row is written when an action
-- starts and completed once with its outcome (outcome and completed_at, from null); nothing rewrites
-- or deletes it afterwards.
CREATE FUNCTION admin_audit_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.outcome IS NULL AND NEW.outcome IS NOT NULL
     AND (NEW.id, NEW.admin_user_id, NEW.admin_email, NEW.action, NEW.target_user_id, NEW.target_job_run_id, NEW.params, NEW.idempotency_key, NEW.created_at)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.admin_user_id, OLD.admin_email, OLD.action, OLD.target_user_id, OLD.target_job_run_id, OLD.params, OLD.idempotency_key, OLD.created_at)
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'the admin audit trail is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END $$;
--> statement-breakpoint
CREATE TRIGGER admin_audit_append_only BEFORE UPDATE OR DELETE ON admin_audit
  FOR EACH ROW EXECUTE FUNCTION admin_audit_refuse_rewrite();
