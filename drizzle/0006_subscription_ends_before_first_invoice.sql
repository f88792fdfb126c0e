CREATE TABLE "billing_subscription_ends" (
	"provider" text NOT NULL,
	"subscription_id" text NOT NULL,
	"ended_at" timestamp with time zone NOT NULL,
	"as_of" timestamp with time zone NOT NULL,
	CONSTRAINT "billing_subscription_ends_provider_subscription_id_pk" PRIMARY KEY("provider","subscription_id")
);
