CREATE TABLE "auth_rate_limits" (
	"key" text PRIMARY KEY NOT NULL,
	"count" integer NOT NULL,
	"resets_at" timestamp with time zone NOT NULL,
	CONSTRAINT "auth_rate_limits_count_positive" CHECK ("auth_rate_limits"."count" > 0)
);
--> statement-breakpoint
CREATE INDEX "auth_rate_limits_resets_at_idx" ON "auth_rate_limits" USING btree ("resets_at");