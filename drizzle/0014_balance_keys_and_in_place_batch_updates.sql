-- What a spend writes, made cheaper (docs/performance.md, "Cheaper spends"):
-- * Ledger entries, operations and holds reference the user's balance row instead of the user. Every
--   change locks the balance row first, so the key's check finds it locked already and takes no lock;
--   against users it took a share lock on the user's row, a write (and, after a checkpoint, a full page
--   image) per spend. A balance row references its user, so every entry still belongs to a user.
-- * A spend's batch update becomes a HOT update (in place, no new index entries): `remaining` leaves
--   the predicate of credit_batches_live_user_idx, and batches and balances keep 10% of each page free
--   for the new row versions. The fillfactor applies to pages written from now on.
-- * The engine's calls plan their statements once per connection (a generic plan): by default a
--   function's statements with parameters were planned again on most calls (custom plans), about a
--   tenth of a spend's time on the server. Every statement in them looks rows up by key or by user, the
--   same plan whatever the values. A CREATE OR REPLACE of these functions drops the setting: repeat it.
-- Applied at start-up while the running app spends: every table it changes is locked at once, the
-- balances first as every change of credits does, so a spend in flight finishes first and the next
-- one waits for the migration, instead of the two deadlocking. It waits at most 10 s for those locks
-- (a long transaction holding one), then fails, and the next start tries again.
SET LOCAL lock_timeout = '10s';--> statement-breakpoint
LOCK TABLE "credit_balances", "credit_holds", "credit_batches", "credit_operations", "credit_ledger", "users" IN ACCESS EXCLUSIVE MODE;--> statement-breakpoint
SET LOCAL lock_timeout TO DEFAULT;--> statement-breakpoint
ALTER TABLE "credit_holds" DROP CONSTRAINT "credit_holds_user_id_users_id_fk";
--> statement-breakpoint
ALTER TABLE "credit_ledger" DROP CONSTRAINT "credit_ledger_user_id_users_id_fk";
--> statement-breakpoint
ALTER TABLE "credit_operations" DROP CONSTRAINT "credit_operations_user_id_users_id_fk";
--> statement-breakpoint
DROP INDEX "credit_batches_live_user_idx";--> statement-breakpoint
ALTER TABLE "credit_holds" ADD CONSTRAINT "credit_holds_user_id_credit_balances_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."credit_balances"("user_id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD CONSTRAINT "credit_ledger_user_id_credit_balances_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."credit_balances"("user_id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_operations" ADD CONSTRAINT "credit_operations_user_id_credit_balances_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."credit_balances"("user_id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "credit_batches_live_user_idx" ON "credit_batches" USING btree ("user_id","expires_at") WHERE "credit_batches"."expired_at" is null;--> statement-breakpoint
ALTER TABLE "credit_batches" SET (fillfactor = 90);--> statement-breakpoint
ALTER TABLE "credit_balances" SET (fillfactor = 90);
--> statement-breakpoint
ALTER FUNCTION credits_debit(text, bigint, text, text, jsonb, timestamptz) SET plan_cache_mode = force_generic_plan;--> statement-breakpoint
ALTER FUNCTION credits_reserve(text, bigint, text, integer, text, jsonb, timestamptz) SET plan_cache_mode = force_generic_plan;--> statement-breakpoint
ALTER FUNCTION credits_capture(text, text, bigint, timestamptz) SET plan_cache_mode = force_generic_plan;--> statement-breakpoint
ALTER FUNCTION credits_release(text, text, timestamptz) SET plan_cache_mode = force_generic_plan;
