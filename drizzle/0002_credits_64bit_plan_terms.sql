ALTER TABLE "credit_batches" DROP CONSTRAINT "credit_batches_amount_positive";--> statement-breakpoint
DROP INDEX "subscriptions_active_user_idx";--> statement-breakpoint
ALTER TABLE "credit_balances" ALTER COLUMN "balance" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "credit_batches" ALTER COLUMN "amount" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "credit_batches" ALTER COLUMN "remaining" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "credit_batches" ALTER COLUMN "expired_amount" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "credit_ledger" ALTER COLUMN "delta" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "credit_ledger" ALTER COLUMN "balance_after" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "credit_operations" ALTER COLUMN "amount" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "credit_operations" ALTER COLUMN "balance_after" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "credit_schedules" ALTER COLUMN "credits_per_installment" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "credit_schedules" ALTER COLUMN "credits_total" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "credit_schedules" ALTER COLUMN "credits_granted" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "credit_schedules" ALTER COLUMN "credits_remaining" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "credit_operations" ADD COLUMN "request" jsonb;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "ends_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "subscriptions_user_idx" ON "subscriptions" USING btree ("user_id");--> statement-breakpoint
ALTER TABLE "credit_balances" ADD CONSTRAINT "credit_balances_balance_bounded" CHECK ("credit_balances"."balance" <= 9007199254740991);--> statement-breakpoint
ALTER TABLE "credit_batches" ADD CONSTRAINT "credit_batches_amount_positive" CHECK ("credit_batches"."amount" > 0 and "credit_batches"."amount" <= 9007199254740991);