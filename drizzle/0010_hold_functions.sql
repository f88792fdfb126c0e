-- Holds (docs/credits.md, holds): credits reserved for work in progress, then captured (kept as spent)
-- or released (given back). Each step is one database call, like a spend (`credits_debit`, migration
-- 0005), so it is one round trip and one transaction: src/lib/server/credits/holds.ts calls them and
-- turns their jsonb answers into typed results. Every change locks the user's balance row first, then
-- the hold, then the batches (the locking order of docs/credits.md).
--
-- Ledger: a reserve writes one `reserve` entry per batch it took from (negative, under the hold's key);
-- a capture writes one `capture` entry that moves nothing (delta 0, under `capture:{key}`, the amount in
-- its metadata and in the hold); a release writes one `release` entry per batch given back (positive,
-- under `release:{key}`), and, where that batch expired while its credits were held, an `expire` entry
-- for as much right after it, under the same key: credits released after their batch expired expire then.
-- Likewise, where a refund, a dispute or a void could not take credits back because this hold had them
-- (credit_take_backs), the release takes them back right after: a `revoke` or `void` entry under the
-- release's key, carrying the reversal's or the void's metadata. A capture leaves them spent.

-- The credits of a batch that holds not yet settled have taken (their `reserve` entries on it): what a
-- refund, a dispute or a void of the batch may still take back once released (credit_take_backs).
CREATE FUNCTION credits_batch_held(p_user_id text, p_batch_id bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(-l.delta), 0)::bigint
    FROM credit_holds h JOIN credit_ledger l ON l.operation_key = h.key AND l.kind = 'reserve'
   WHERE h.user_id = p_user_id AND h.status = 'held' AND l.batch_id = p_batch_id
$$;
--> statement-breakpoint
-- Settles a hold that is still held: `p_captured` of it stays spent, the rest goes back to the batches
-- it came from, the last taken first, so the captured part stays with the batches that burn down first.
-- What a refund, a dispute or a void still owes on a batch is taken back from what comes back to it,
-- first; what it owes beyond what the batch still has held afterwards was captured: spent, not owed.
-- The caller holds the user's balance lock and the hold's row lock. Returns the balance after and the
-- credits that expired at once (given back to a batch the expiry job had swept).
CREATE FUNCTION credits_settle_hold(p_hold credit_holds, p_captured bigint, p_status text, p_now timestamptz,
                                    OUT balance_after bigint, OUT expired_total bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_release_key text := 'release:' || p_hold.key;
  v_metadata jsonb := credits_hold_entry_metadata(p_hold.reason, p_hold.metadata);
  v_balance bigint;
  v_left bigint := p_hold.amount - p_captured;
  v_expired_total bigint := 0;
  v_taken_back_total bigint := 0;
  v_share record;
  v_give bigint;
  v_pay bigint;
  v_excess bigint;
  v_expired boolean;
  v_owed credit_take_backs;
  v_batches bigint[] := '{}';
BEGIN
  IF p_hold.status <> 'held' THEN
    RAISE EXCEPTION 'credits_settle_hold: hold % is already %', p_hold.key, p_hold.status USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_captured < 0 OR p_captured > p_hold.amount OR (p_captured > 0) <> (p_status = 'captured') THEN
    RAISE EXCEPTION 'credits_settle_hold: cannot settle % of hold % as %', p_captured, p_hold.key, p_status USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT balance INTO v_balance FROM credit_balances WHERE user_id = p_hold.user_id;
  IF p_captured > 0 THEN
    INSERT INTO credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, metadata, created_at)
    VALUES (p_hold.user_id, 0, v_balance, 'capture', NULL, 'capture:' || p_hold.key,
            coalesce(v_metadata, '{}') || jsonb_build_object('captured', p_captured), p_now);
  END IF;
  FOR v_share IN
    SELECT batch_id, -delta AS taken FROM credit_ledger
     WHERE operation_key = p_hold.key AND kind = 'reserve'
     ORDER BY id DESC
  LOOP
    v_batches := v_batches || v_share.batch_id;
    v_give := least(v_left, v_share.taken);
    CONTINUE WHEN v_give = 0;
    v_left := v_left - v_give;
    -- A batch the expiry job swept while its credits were held (remaining 0, expired_at set) takes
    -- them as expired instead: its remaining stays 0, what it lost grows by as much.
    UPDATE credit_batches
       SET remaining = remaining + CASE WHEN expired_at IS NULL THEN v_give ELSE 0 END,
           expired_amount = expired_amount + CASE WHEN expired_at IS NULL THEN 0 ELSE v_give END
     WHERE id = v_share.batch_id
    RETURNING expired_at IS NOT NULL INTO v_expired;
    v_balance := v_balance + v_give;
    INSERT INTO credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, metadata, created_at)
    VALUES (p_hold.user_id, v_give, v_balance, 'release', v_share.batch_id, v_release_key, v_metadata, p_now);
    IF v_expired THEN
      v_balance := v_balance - v_give;
      v_expired_total := v_expired_total + v_give;
      INSERT INTO credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, metadata, created_at)
      VALUES (p_hold.user_id, -v_give, v_balance, 'expire', v_share.batch_id, v_release_key, v_metadata, p_now);
      CONTINUE;
    END IF;
    -- What a refund, a dispute or a void of this batch still owes comes out of it first, oldest first.
    FOR v_owed IN
      SELECT * FROM credit_take_backs WHERE batch_id = v_share.batch_id AND pending > 0 ORDER BY id FOR UPDATE
    LOOP
      EXIT WHEN v_give = 0;
      v_pay := least(v_give, v_owed.pending);
      v_give := v_give - v_pay;
      UPDATE credit_take_backs SET pending = pending - v_pay WHERE id = v_owed.id;
      UPDATE credit_batches SET remaining = remaining - v_pay WHERE id = v_share.batch_id;
      v_balance := v_balance - v_pay;
      v_taken_back_total := v_taken_back_total + v_pay;
      INSERT INTO credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, metadata, created_at)
      VALUES (p_hold.user_id, -v_pay, v_balance, v_owed.kind, v_share.batch_id, v_release_key, v_owed.metadata, p_now);
    END LOOP;
  END LOOP;
  UPDATE credit_holds
     SET status = p_status, captured = p_captured, released = p_hold.amount - p_captured, settled_at = p_now
   WHERE key = p_hold.key;
  -- What is still owed beyond what the batch has held now was captured (or expired): spent, never
  -- coming back, so nothing is owed for it any more (the newest debts first).
  FOR v_owed IN
    SELECT * FROM credit_take_backs WHERE batch_id = ANY (v_batches) AND pending > 0 ORDER BY batch_id, id DESC FOR UPDATE
  LOOP
    v_excess := (SELECT sum(pending) FROM credit_take_backs WHERE batch_id = v_owed.batch_id)
                - credits_batch_held(p_hold.user_id, v_owed.batch_id);
    CONTINUE WHEN v_excess <= 0;
    UPDATE credit_take_backs SET pending = pending - least(pending, v_excess) WHERE id = v_owed.id;
  END LOOP;
  UPDATE credit_balances
     SET balance = v_balance, held = held - p_hold.amount,
         total_consumed = total_consumed + p_captured + v_taken_back_total,
         total_expired = total_expired + v_expired_total, updated_at = p_now
   WHERE user_id = p_hold.user_id;
  balance_after := v_balance;
  expired_total := v_expired_total;
END
$$;
--> statement-breakpoint
-- What a hold's entries carry: its reason and the caller's metadata, as a consumption's entries do.
CREATE FUNCTION credits_hold_entry_metadata(p_reason text, p_metadata jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_reason IS NULL AND p_metadata IS NULL THEN NULL
              WHEN p_reason IS NULL THEN p_metadata
              ELSE jsonb_build_object('reason', p_reason) || coalesce(p_metadata, '{}') END
$$;
--> statement-breakpoint
-- Releases a user's holds whose time ran out (status `expired`), and says how many credits of them
-- expired at once (given back to a batch already swept). The caller holds the user's balance lock: a
-- reserve and a spend do this first (so a crashed worker's hold does not block the same user's next
-- request), and the expiry job does it for every user with such holds.
CREATE FUNCTION credits_release_timed_out(p_user_id text, p_now timestamptz,
                                          OUT released_holds integer, OUT released_amount bigint, OUT expired_amount bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_hold credit_holds;
BEGIN
  released_holds := 0;
  released_amount := 0;
  expired_amount := 0;
  FOR v_hold IN
    SELECT * FROM credit_holds WHERE user_id = p_user_id AND status = 'held' AND expires_at <= p_now ORDER BY expires_at, key FOR UPDATE
  LOOP
    expired_amount := expired_amount + (credits_settle_hold(v_hold, 0, 'expired', p_now)).expired_total;
    released_holds := released_holds + 1;
    released_amount := released_amount + v_hold.amount;
  END LOOP;
END
$$;
--> statement-breakpoint
-- The answer for a hold key that is already taken: the original reserve when it names this very
-- request (with the hold's status now), a conflict otherwise (a spend's or a grant's key, or another reserve).
CREATE FUNCTION credits_reserve_replay(p_operation credit_operations, p_request jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_hold credit_holds;
BEGIN
  IF p_operation.request IS DISTINCT FROM p_request THEN RETURN jsonb_build_object('outcome', 'conflict'); END IF;
  SELECT * INTO v_hold FROM credit_holds WHERE key = p_operation.key;
  RETURN jsonb_build_object(
    'outcome', 'replayed',
    'amount', p_operation.amount,
    'balanceAfter', p_operation.balance_after,
    'expiresAt', v_hold.expires_at,
    'status', v_hold.status,
    'entries', (SELECT count(*) FROM credit_ledger WHERE operation_key = p_operation.key));
END
$$;
--> statement-breakpoint
-- Burn-down order, the one place it is written (a spend and a reserve both take batches through it):
-- soonest expiry first (never-expiring last), promotional before paid, oldest, id. Only live batches:
-- effective, not past their expiry (`coalesce` rather than an OR, so the planner keeps to the user's
-- index), not yet swept. Rows are locked as they are read, and reading stops once `p_amount` is
-- covered. `available` below `p_amount`: the user is short, and the caller writes nothing.
CREATE FUNCTION credits_burn_down(p_user_id text, p_amount bigint, p_now timestamptz,
                                  OUT batch_ids bigint[], OUT takes bigint[], OUT available bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_batch record;
  v_left bigint := p_amount;
  v_take bigint;
BEGIN
  batch_ids := '{}';
  takes := '{}';
  available := 0;
  FOR v_batch IN
    SELECT id, remaining FROM credit_batches
     WHERE user_id = p_user_id AND expired_at IS NULL AND remaining > 0
       AND effective_at <= p_now AND coalesce(expires_at, 'infinity') > p_now
     order by expires_at asc nulls last, (category = 'paid'), effective_at, id
       FOR UPDATE
  LOOP
    available := available + v_batch.remaining;
    v_take := least(v_left, v_batch.remaining);
    batch_ids := batch_ids || v_batch.id;
    takes := takes || v_take;
    v_left := v_left - v_take;
    EXIT WHEN v_left = 0;
  END LOOP;
END
$$;
--> statement-breakpoint
-- Writes what credits_burn_down chose: each batch lowered, one entry per batch (in that order, each
-- with the balance after it, from `p_balance` before). The caller updates the balance row.
CREATE FUNCTION credits_write_takes(p_user_id text, p_batch_ids bigint[], p_takes bigint[], p_balance bigint,
                                    p_kind text, p_key text, p_metadata jsonb, p_now timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE credit_batches b SET remaining = b.remaining - t.take
    FROM unnest(p_batch_ids, p_takes) AS t(id, take)
   WHERE b.id = t.id;
  INSERT INTO credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, metadata, created_at)
  SELECT p_user_id, -t.take, p_balance - sum(t.take) OVER (ORDER BY t.n), p_kind, t.id, p_key, p_metadata, p_now
    FROM unnest(p_batch_ids, p_takes) WITH ORDINALITY AS t(id, take, n)
   ORDER BY t.n;
END
$$;
--> statement-breakpoint
-- A user's holds whose time ran out go back before a spend or a reserve looks at the batches (their
-- credits may be what it needs): only looked for when the user has credits held. The caller holds
-- the balance lock.
CREATE FUNCTION credits_release_timed_out_of_holder(p_user_id text, p_held bigint, p_now timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF p_held > 0 THEN PERFORM credits_release_timed_out(p_user_id, p_now); END IF;
END
$$;
--> statement-breakpoint
-- Reserves `p_amount` credits under the hold key `p_key` for `p_ttl_seconds`:
--   {"outcome": "reserved" | "replayed", "amount", "balanceAfter", "expiresAt", "status", "entries"}
--   {"outcome": "short", "available"}: nothing reserved
--   {"outcome": "conflict"}: the key names another request; nothing written
CREATE FUNCTION credits_reserve(p_user_id text, p_amount bigint, p_key text, p_ttl_seconds integer, p_reason text, p_metadata jsonb, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_request jsonb := jsonb_build_object('reserve', 'hold', 'userId', p_user_id, 'amount', p_amount, 'ttlSeconds', p_ttl_seconds);
  v_metadata jsonb := credits_hold_entry_metadata(p_reason, p_metadata);
  v_expires_at timestamptz := p_now + make_interval(secs => p_ttl_seconds);
  v_balance bigint;
  v_held bigint;
  v_operation credit_operations;
  v_taken record;
BEGIN
  IF p_amount IS NULL OR p_amount <= 0 THEN
    RAISE EXCEPTION 'credits_reserve: amount must be positive, not %', p_amount USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_ttl_seconds IS NULL OR p_ttl_seconds <= 0 THEN
    RAISE EXCEPTION 'credits_reserve: ttl must be positive, not %', p_ttl_seconds USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- The balance row first, as every change of a user's credits does.
  SELECT balance, held INTO v_balance, v_held FROM credit_balances WHERE user_id = p_user_id FOR UPDATE;

  -- Timed-out holds go back first, also before a replay answers: a replayed hold is reported as it is.
  PERFORM credits_release_timed_out_of_holder(p_user_id, v_held, p_now);
  SELECT balance, held INTO v_balance, v_held FROM credit_balances WHERE user_id = p_user_id;

  -- A fresh snapshot: a call with the same key for this user that held the lock before us is seen here.
  SELECT * INTO v_operation FROM credit_operations WHERE key = p_key;
  IF FOUND THEN RETURN credits_reserve_replay(v_operation, v_request); END IF;

  IF v_balance IS NULL THEN RETURN jsonb_build_object('outcome', 'short', 'available', 0); END IF;
  -- held + amount never passes MAX_CREDITS: a reserve moves credits from the balance to held, and
  -- balance + held is kept within it (credit_balances_with_held_bounded, which grants check first).

  SELECT * INTO v_taken FROM credits_burn_down(p_user_id, p_amount, p_now);
  IF v_taken.available < p_amount THEN RETURN jsonb_build_object('outcome', 'short', 'available', v_taken.available); END IF;

  -- The key is claimed before anything else is written (see credits_debit: a call that does not take
  -- this balance lock may have claimed it since the lookup).
  INSERT INTO credit_operations (key, user_id, kind, amount, balance_after, metadata, request, created_at)
  VALUES (p_key, p_user_id, 'reserve', p_amount, v_balance - p_amount, v_metadata, v_request, p_now)
  ON CONFLICT (key) DO NOTHING;
  IF NOT FOUND THEN
    SELECT * INTO v_operation FROM credit_operations WHERE key = p_key;
    RETURN credits_reserve_replay(v_operation, v_request);
  END IF;

  PERFORM credits_write_takes(p_user_id, v_taken.batch_ids, v_taken.takes, v_balance, 'reserve', p_key, v_metadata, p_now);
  INSERT INTO credit_holds (key, user_id, amount, status, expires_at, reason, metadata, created_at)
  VALUES (p_key, p_user_id, p_amount, 'held', v_expires_at, p_reason, p_metadata, p_now);
  UPDATE credit_balances
     SET balance = balance - p_amount, held = held + p_amount, updated_at = p_now
   WHERE user_id = p_user_id;
  RETURN jsonb_build_object('outcome', 'reserved', 'amount', p_amount, 'balanceAfter', v_balance - p_amount,
                            'expiresAt', v_expires_at, 'status', 'held', 'entries', cardinality(v_taken.batch_ids));
END
$$;
--> statement-breakpoint
-- A spend (migration 0005) with the two changes holds bring: the user's timed-out holds go back
-- first, and the batches are taken through credits_burn_down. Same answers as before.
CREATE OR REPLACE FUNCTION credits_debit(p_user_id text, p_amount bigint, p_key text, p_kind text, p_metadata jsonb, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_request jsonb := jsonb_build_object('debit', p_kind, 'userId', p_user_id, 'amount', p_amount);
  v_balance bigint;
  v_held bigint;
  v_operation credit_operations;
  v_taken record;
BEGIN
  IF p_kind NOT IN ('consume', 'adjust') THEN
    RAISE EXCEPTION 'credits_debit: kind must be consume or adjust, not %', p_kind USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_amount IS NULL OR p_amount <= 0 THEN
    RAISE EXCEPTION 'credits_debit: amount must be positive, not %', p_amount USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- The balance row first, as every change of a user's credits does (docs/credits.md, locking order).
  SELECT balance, held INTO v_balance, v_held FROM credit_balances WHERE user_id = p_user_id FOR UPDATE;

  -- Each statement of a function takes a fresh snapshot (read committed): a call with the same key for
  -- this user that held the lock before us has committed, and is seen here.
  SELECT * INTO v_operation FROM credit_operations WHERE key = p_key;
  IF FOUND THEN RETURN credits_debit_replay(v_operation, v_request); END IF;

  -- No balance row: nothing was ever granted to this user.
  IF v_balance IS NULL THEN RETURN jsonb_build_object('outcome', 'short', 'available', 0); END IF;

  IF v_held > 0 THEN
    PERFORM credits_release_timed_out_of_holder(p_user_id, v_held, p_now);
    SELECT balance INTO v_balance FROM credit_balances WHERE user_id = p_user_id;
  END IF;

  SELECT * INTO v_taken FROM credits_burn_down(p_user_id, p_amount, p_now);
  IF v_taken.available < p_amount THEN RETURN jsonb_build_object('outcome', 'short', 'available', v_taken.available); END IF;

  -- The key is claimed before anything else is written. A call that does not take this balance lock
  -- (another user's spend, a grant) may have claimed it since the lookup: the insert waits for it,
  -- writes nothing, and the key is read again (a fresh snapshot sees it).
  INSERT INTO credit_operations (key, user_id, kind, amount, balance_after, metadata, request, created_at)
  VALUES (p_key, p_user_id, p_kind, p_amount, v_balance - p_amount, p_metadata, v_request, p_now)
  ON CONFLICT (key) DO NOTHING;
  IF NOT FOUND THEN
    SELECT * INTO v_operation FROM credit_operations WHERE key = p_key;
    RETURN credits_debit_replay(v_operation, v_request);
  END IF;

  PERFORM credits_write_takes(p_user_id, v_taken.batch_ids, v_taken.takes, v_balance, p_kind, p_key, p_metadata, p_now);
  UPDATE credit_balances
     SET balance = balance - p_amount, total_consumed = total_consumed + p_amount, updated_at = p_now
   WHERE user_id = p_user_id;
  RETURN jsonb_build_object('outcome', 'spent', 'amount', p_amount, 'balanceAfter', v_balance - p_amount,
                            'entries', cardinality(v_taken.batch_ids));
END
$$;
--> statement-breakpoint
-- Looks a hold up for a capture or a release and locks it, after its user's balance row. A hold of
-- another user than `p_user_id` (when given) is not found: product code never settles someone else's.
CREATE FUNCTION credits_lock_hold(p_key text, p_user_id text) RETURNS credit_holds
LANGUAGE plpgsql AS $$
DECLARE
  v_user text;
  v_hold credit_holds;
BEGIN
  SELECT user_id INTO v_user FROM credit_holds WHERE key = p_key;
  IF NOT FOUND OR (p_user_id IS NOT NULL AND v_user <> p_user_id) THEN RETURN NULL; END IF;
  PERFORM 1 FROM credit_balances WHERE user_id = v_user FOR UPDATE;
  SELECT * INTO v_hold FROM credit_holds WHERE key = p_key FOR UPDATE;
  RETURN v_hold;
END
$$;
--> statement-breakpoint
-- Captures `p_amount` (all of it when null) of a hold, releasing the rest:
--   {"outcome": "captured" | "replayed", "captured", "released", "balanceAfter"?}
--   {"outcome": "not_found" | "released" | "expired" | "conflict"} or {"outcome": "too_much", "reserved"}
-- A capture after the hold's time is refused ("expired") and releases it, in the same call.
CREATE FUNCTION credits_capture(p_key text, p_user_id text, p_amount bigint, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_hold credit_holds := credits_lock_hold(p_key, p_user_id);
  v_amount bigint;
  v_balance bigint;
BEGIN
  IF v_hold.key IS NULL THEN RETURN jsonb_build_object('outcome', 'not_found'); END IF;
  v_amount := coalesce(p_amount, v_hold.amount);
  IF v_amount <= 0 THEN
    RAISE EXCEPTION 'credits_capture: amount must be positive, not %', v_amount USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF v_hold.status = 'captured' THEN
    IF v_hold.captured <> v_amount THEN RETURN jsonb_build_object('outcome', 'conflict'); END IF;
    RETURN jsonb_build_object('outcome', 'replayed', 'captured', v_hold.captured, 'released', v_hold.released);
  END IF;
  IF v_hold.status IN ('released', 'expired') THEN RETURN jsonb_build_object('outcome', v_hold.status); END IF;
  IF v_amount > v_hold.amount THEN RETURN jsonb_build_object('outcome', 'too_much', 'reserved', v_hold.amount); END IF;
  IF v_hold.expires_at <= p_now THEN
    PERFORM credits_settle_hold(v_hold, 0, 'expired', p_now);
    RETURN jsonb_build_object('outcome', 'expired');
  END IF;
  v_balance := (credits_settle_hold(v_hold, v_amount, 'captured', p_now)).balance_after;
  RETURN jsonb_build_object('outcome', 'captured', 'captured', v_amount, 'released', v_hold.amount - v_amount, 'balanceAfter', v_balance);
END
$$;
--> statement-breakpoint
-- Releases all of a hold:
--   {"outcome": "released" | "replayed", "released", "status", "balanceAfter"?}
--   {"outcome": "not_found" | "captured"}
CREATE FUNCTION credits_release(p_key text, p_user_id text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_hold credit_holds := credits_lock_hold(p_key, p_user_id);
  v_balance bigint;
BEGIN
  IF v_hold.key IS NULL THEN RETURN jsonb_build_object('outcome', 'not_found'); END IF;
  IF v_hold.status = 'captured' THEN RETURN jsonb_build_object('outcome', 'captured'); END IF;
  IF v_hold.status IN ('released', 'expired') THEN
    RETURN jsonb_build_object('outcome', 'replayed', 'released', v_hold.released, 'status', v_hold.status);
  END IF;
  v_balance := (credits_settle_hold(v_hold, 0, 'released', p_now)).balance_after;
  RETURN jsonb_build_object('outcome', 'released', 'released', v_hold.amount, 'status', 'released', 'balanceAfter', v_balance);
END
$$;
--> statement-breakpoint
-- A hold is settled once: after that its row never changes, and no hold is ever deleted.
CREATE FUNCTION credits_hold_settles_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'held' OR NEW.key <> OLD.key OR NEW.user_id <> OLD.user_id OR NEW.amount <> OLD.amount
     OR NEW.expires_at <> OLD.expires_at OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'a hold is settled once: update of hold % refused', OLD.key USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER credit_holds_settle_once BEFORE UPDATE ON credit_holds
  FOR EACH ROW EXECUTE FUNCTION credits_hold_settles_once();
--> statement-breakpoint
CREATE TRIGGER credit_holds_no_delete BEFORE DELETE ON credit_holds
  FOR EACH ROW EXECUTE FUNCTION credits_refuse_rewrite();
