CREATE TABLE "credit_expiry_notices" (
	"batch_id" bigint PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"job_run_id" uuid NOT NULL,
	"claimed_at" timestamp with time zone NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "receipt_sent_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "expiry_notices" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_expiry_notices" ADD CONSTRAINT "credit_expiry_notices_batch_id_credit_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."credit_batches"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_expiry_notices" ADD CONSTRAINT "credit_expiry_notices_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "credit_expiry_notices_user_idx" ON "credit_expiry_notices" USING btree ("user_id");