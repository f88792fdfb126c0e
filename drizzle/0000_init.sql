CREATE TABLE "accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"provider_id" text NOT NULL,
	"user_id" text NOT NULL,
	"access_token" text,
	"refresh_token" text,
	"id_token" text,
	"access_token_expires_at" timestamp with time zone,
	"refresh_token_expires_at" timestamp with time zone,
	"scope" text,
	"password" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_balances" (
	"user_id" text PRIMARY KEY NOT NULL,
	"balance" integer DEFAULT 0 NOT NULL,
	"total_granted" bigint DEFAULT 0 NOT NULL,
	"total_consumed" bigint DEFAULT 0 NOT NULL,
	"total_expired" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credit_balances_balance_non_negative" CHECK ("credit_balances"."balance" >= 0)
);
--> statement-breakpoint
CREATE TABLE "credit_batches" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "credit_batches_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"user_id" text NOT NULL,
	"amount" integer NOT NULL,
	"remaining" integer NOT NULL,
	"source" text NOT NULL,
	"category" text NOT NULL,
	"effective_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone,
	"expired_at" timestamp with time zone,
	"expired_amount" integer DEFAULT 0 NOT NULL,
	"idempotency_key" text NOT NULL,
	"subscription_id" text,
	"schedule_id" uuid,
	"installment" integer,
	"purchase_id" text,
	"job_run_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credit_batches_amount_positive" CHECK ("credit_batches"."amount" > 0),
	CONSTRAINT "credit_batches_remaining_range" CHECK ("credit_batches"."remaining" >= 0 and "credit_batches"."remaining" <= "credit_batches"."amount"),
	CONSTRAINT "credit_batches_expired_empty" CHECK ("credit_batches"."expired_at" is null or "credit_batches"."remaining" = 0),
	CONSTRAINT "credit_batches_expired_amount_range" CHECK ("credit_batches"."expired_amount" >= 0 and "credit_batches"."expired_amount" <= "credit_batches"."amount"),
	CONSTRAINT "credit_batches_expiry_after_effective" CHECK ("credit_batches"."expires_at" is null or "credit_batches"."expires_at" > "credit_batches"."effective_at")
);
--> statement-breakpoint
CREATE TABLE "credit_ledger" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "credit_ledger_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"user_id" text NOT NULL,
	"delta" integer NOT NULL,
	"balance_after" integer NOT NULL,
	"kind" text NOT NULL,
	"batch_id" bigint,
	"operation_key" text NOT NULL,
	"job_run_id" uuid,
	"metadata" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credit_ledger_delta_non_zero" CHECK ("credit_ledger"."delta" <> 0),
	CONSTRAINT "credit_ledger_balance_after_non_negative" CHECK ("credit_ledger"."balance_after" >= 0)
);
--> statement-breakpoint
CREATE TABLE "credit_operations" (
	"key" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"kind" text NOT NULL,
	"amount" integer NOT NULL,
	"balance_after" integer NOT NULL,
	"metadata" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_schedules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" text NOT NULL,
	"subscription_id" text NOT NULL,
	"plan_id" text NOT NULL,
	"category" text NOT NULL,
	"credits_per_installment" integer NOT NULL,
	"installments_total" integer NOT NULL,
	"installments_done" integer DEFAULT 0 NOT NULL,
	"credits_total" integer NOT NULL,
	"credits_granted" integer DEFAULT 0 NOT NULL,
	"credits_remaining" integer NOT NULL,
	"interval_months" integer NOT NULL,
	"validity_days" integer,
	"anchor_at" timestamp with time zone NOT NULL,
	"next_due_at" timestamp with time zone,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credit_schedules_installments_range" CHECK ("credit_schedules"."installments_done" >= 0 and "credit_schedules"."installments_done" <= "credit_schedules"."installments_total"),
	CONSTRAINT "credit_schedules_credits_add_up" CHECK ("credit_schedules"."credits_granted" + "credit_schedules"."credits_remaining" = "credit_schedules"."credits_total"),
	CONSTRAINT "credit_schedules_credits_non_negative" CHECK ("credit_schedules"."credits_granted" >= 0 and "credit_schedules"."credits_remaining" >= 0),
	CONSTRAINT "credit_schedules_interval_positive" CHECK ("credit_schedules"."interval_months" > 0 and "credit_schedules"."installments_total" > 0)
);
--> statement-breakpoint
CREATE TABLE "job_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"job" text NOT NULL,
	"trigger" text NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"dry_run" boolean DEFAULT false NOT NULL,
	"reference_date" date,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"results" jsonb,
	"has_more" boolean DEFAULT false NOT NULL,
	"cursor" text,
	"error" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"token" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ip_address" text,
	"user_agent" text,
	"user_id" text NOT NULL,
	CONSTRAINT "sessions_token_unique" UNIQUE("token")
);
--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"plan_id" text NOT NULL,
	"billing" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"anchor_at" timestamp with time zone NOT NULL,
	"canceled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "subscriptions_canceled_at" CHECK (("subscriptions"."status" = 'canceled') = ("subscriptions"."canceled_at" is not null))
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"email" text NOT NULL,
	"email_verified" boolean DEFAULT false NOT NULL,
	"image" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_email_unique" UNIQUE("email")
);
--> statement-breakpoint
CREATE TABLE "verifications" (
	"id" text PRIMARY KEY NOT NULL,
	"identifier" text NOT NULL,
	"value" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_balances" ADD CONSTRAINT "credit_balances_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_batches" ADD CONSTRAINT "credit_batches_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_batches" ADD CONSTRAINT "credit_batches_subscription_id_subscriptions_id_fk" FOREIGN KEY ("subscription_id") REFERENCES "public"."subscriptions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_batches" ADD CONSTRAINT "credit_batches_job_run_id_job_runs_id_fk" FOREIGN KEY ("job_run_id") REFERENCES "public"."job_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD CONSTRAINT "credit_ledger_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD CONSTRAINT "credit_ledger_batch_id_credit_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."credit_batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD CONSTRAINT "credit_ledger_job_run_id_job_runs_id_fk" FOREIGN KEY ("job_run_id") REFERENCES "public"."job_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_operations" ADD CONSTRAINT "credit_operations_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_schedules" ADD CONSTRAINT "credit_schedules_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_schedules" ADD CONSTRAINT "credit_schedules_subscription_id_subscriptions_id_fk" FOREIGN KEY ("subscription_id") REFERENCES "public"."subscriptions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "accounts_user_id_idx" ON "accounts" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "credit_batches_idempotency_key_idx" ON "credit_batches" USING btree ("idempotency_key");--> statement-breakpoint
CREATE INDEX "credit_batches_live_user_idx" ON "credit_batches" USING btree ("user_id","expires_at") WHERE "credit_batches"."expired_at" is null and "credit_batches"."remaining" > 0;--> statement-breakpoint
CREATE INDEX "credit_batches_due_expiry_idx" ON "credit_batches" USING btree ("expires_at","id") WHERE "credit_batches"."expired_at" is null and "credit_batches"."expires_at" is not null;--> statement-breakpoint
CREATE INDEX "credit_batches_job_run_idx" ON "credit_batches" USING btree ("job_run_id") WHERE "credit_batches"."job_run_id" is not null;--> statement-breakpoint
CREATE INDEX "credit_ledger_user_history_idx" ON "credit_ledger" USING btree ("user_id","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "credit_ledger_operation_key_idx" ON "credit_ledger" USING btree ("operation_key");--> statement-breakpoint
CREATE UNIQUE INDEX "credit_ledger_one_grant_per_batch_idx" ON "credit_ledger" USING btree ("batch_id") WHERE "credit_ledger"."kind" = 'grant';--> statement-breakpoint
CREATE UNIQUE INDEX "credit_ledger_one_expiry_per_batch_idx" ON "credit_ledger" USING btree ("batch_id") WHERE "credit_ledger"."kind" = 'expire';--> statement-breakpoint
CREATE UNIQUE INDEX "credit_schedules_subscription_idx" ON "credit_schedules" USING btree ("subscription_id");--> statement-breakpoint
CREATE INDEX "credit_schedules_due_idx" ON "credit_schedules" USING btree ("next_due_at","id") WHERE "credit_schedules"."status" = 'active';--> statement-breakpoint
CREATE INDEX "job_runs_job_started_idx" ON "job_runs" USING btree ("job","started_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "sessions_user_id_idx" ON "sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "subscriptions_active_user_idx" ON "subscriptions" USING btree ("user_id") WHERE "subscriptions"."status" = 'active';--> statement-breakpoint
CREATE INDEX "verifications_identifier_idx" ON "verifications" USING btree ("identifier");