CREATE TABLE "credit_holds" (
	"key" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"amount" bigint NOT NULL,
	"captured" bigint DEFAULT 0 NOT NULL,
	"released" bigint DEFAULT 0 NOT NULL,
	"status" text DEFAULT 'held' NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"reason" text,
	"metadata" jsonb,
	"created_at" timestamp with time zone NOT NULL,
	"settled_at" timestamp with time zone,
	CONSTRAINT "credit_holds_amount_positive" CHECK ("credit_holds"."amount" > 0 and "credit_holds"."amount" <= 9007199254740991),
	CONSTRAINT "credit_holds_settled_adds_up" CHECK ("credit_holds"."captured" >= 0 and "credit_holds"."released" >= 0 and "credit_holds"."captured" + "credit_holds"."released" = case when "credit_holds"."status" = 'held' then 0 else "credit_holds"."amount" end),
	CONSTRAINT "credit_holds_captured_status" CHECK (("credit_holds"."captured" > 0) = ("credit_holds"."status" = 'captured')),
	CONSTRAINT "credit_holds_settled_at" CHECK (("credit_holds"."settled_at" is null) = ("credit_holds"."status" = 'held')),
	CONSTRAINT "credit_holds_expiry_after_creation" CHECK ("credit_holds"."expires_at" > "credit_holds"."created_at")
);
--> statement-breakpoint
CREATE TABLE "credit_take_backs" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "credit_take_backs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"batch_id" bigint NOT NULL,
	"user_id" text NOT NULL,
	"operation_key" text NOT NULL,
	"kind" text NOT NULL,
	"amount" bigint NOT NULL,
	"pending" bigint NOT NULL,
	"metadata" jsonb,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "credit_take_backs_pending_range" CHECK ("credit_take_backs"."pending" >= 0 and "credit_take_backs"."pending" <= "credit_take_backs"."amount")
);
--> statement-breakpoint
ALTER TABLE "credit_ledger" DROP CONSTRAINT "credit_ledger_delta_non_zero";--> statement-breakpoint
DROP INDEX "credit_ledger_one_expiry_per_batch_idx";--> statement-breakpoint
ALTER TABLE "credit_balances" ADD COLUMN "held" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_holds" ADD CONSTRAINT "credit_holds_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_take_backs" ADD CONSTRAINT "credit_take_backs_batch_id_credit_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."credit_batches"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_take_backs" ADD CONSTRAINT "credit_take_backs_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "credit_holds_held_user_idx" ON "credit_holds" USING btree ("user_id","expires_at") WHERE "credit_holds"."status" = 'held';--> statement-breakpoint
CREATE INDEX "credit_holds_held_expiry_idx" ON "credit_holds" USING btree ("expires_at","user_id") WHERE "credit_holds"."status" = 'held';--> statement-breakpoint
CREATE UNIQUE INDEX "credit_take_backs_batch_operation_idx" ON "credit_take_backs" USING btree ("batch_id","operation_key");--> statement-breakpoint
CREATE INDEX "credit_take_backs_pending_idx" ON "credit_take_backs" USING btree ("batch_id") WHERE "credit_take_backs"."pending" > 0;--> statement-breakpoint
CREATE UNIQUE INDEX "credit_ledger_one_expiry_per_batch_idx" ON "credit_ledger" USING btree ("batch_id","operation_key") WHERE "credit_ledger"."kind" = 'expire';--> statement-breakpoint
ALTER TABLE "credit_balances" ADD CONSTRAINT "credit_balances_held_range" CHECK ("credit_balances"."held" >= 0 and "credit_balances"."held" <= 9007199254740991);--> statement-breakpoint
ALTER TABLE "credit_balances" ADD CONSTRAINT "credit_balances_with_held_bounded" CHECK ("credit_balances"."balance" + "credit_balances"."held" <= 9007199254740991);--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD CONSTRAINT "credit_ledger_delta_non_zero" CHECK (("credit_ledger"."delta" = 0) = ("credit_ledger"."kind" = 'capture'));