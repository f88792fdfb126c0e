-- Welcome and monthly free credits now wait for a verified e-mail address (docs/accounts.md).
-- Accounts that existed before this release signed up when no address was checked, already hold
-- their welcome credits and can sign in today: they keep doing so, as verified. Accounts created
-- from now on start unverified (the column's default).
UPDATE "users" SET "email_verified" = true WHERE "email_verified" = false;
