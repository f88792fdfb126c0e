ALTER TABLE "credit_batches" DROP CONSTRAINT "credit_batches_job_run_id_job_runs_id_fk";
--> statement-breakpoint
ALTER TABLE "credit_ledger" DROP CONSTRAINT "credit_ledger_job_run_id_job_runs_id_fk";
