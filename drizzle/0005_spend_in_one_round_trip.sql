-- A consumption or an operator's deduction in one call, so one round trip (issue 14): it locks the
-- balance row, checks the key, takes the batches in burn-down order, and writes the operation, one
-- ledger entry per batch and the balance, or nothing at all. `debitCredits` (src/lib/server/credits/debit.ts)
-- checks the amount and the key before calling it, and turns its answer into a DebitResult:
--   {"outcome": "spent" | "replayed", "amount", "balanceAfter", "entries"}
--   {"outcome": "short", "available"}: nothing written
--   {"outcome": "conflict"}: the key names another request (another spend, or a grant); nothing written
-- The same rules as the multi-statement path it replaces (debit-in-steps.ts), which the tests run side by side.

-- The answer for a key that is already taken: the original outcome when it names this very request,
-- a conflict otherwise. `p_request` is the request a debit records (`{debit: kind, userId, amount}`);
-- a grant's request never looks like it (an operator's grant has a delta, the jobs' grants none).
CREATE FUNCTION credits_debit_replay(p_operation credit_operations, p_request jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
  IF p_operation.request IS NOT NULL THEN
    IF p_operation.request IS DISTINCT FROM p_request THEN RETURN jsonb_build_object('outcome', 'conflict'); END IF;
  ELSIF p_operation.user_id IS DISTINCT FROM p_request->>'userId'
     OR p_operation.amount IS DISTINCT FROM (p_request->>'amount')::bigint
     OR p_operation.kind IS DISTINCT FROM p_request->>'debit'
     -- Written before requests were kept: the columns match, but the key may still be a grant's.
     OR EXISTS (SELECT 1 FROM credit_batches WHERE idempotency_key = p_operation.key) THEN
    RETURN jsonb_build_object('outcome', 'conflict');
  END IF;
  RETURN jsonb_build_object(
    'outcome', 'replayed',
    'amount', p_operation.amount,
    'balanceAfter', p_operation.balance_after,
    'entries', (SELECT count(*) FROM credit_ledger WHERE operation_key = p_operation.key));
END
$$;
--> statement-breakpoint
CREATE FUNCTION credits_debit(p_user_id text, p_amount bigint, p_key text, p_kind text, p_metadata jsonb, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_request jsonb := jsonb_build_object('debit', p_kind, 'userId', p_user_id, 'amount', p_amount);
  v_balance bigint;
  v_operation credit_operations;
  v_batch record;
  v_left bigint := p_amount;
  v_available bigint := 0;
  v_take bigint;
  v_ids bigint[] := '{}';
  v_takes bigint[] := '{}';
BEGIN
  IF p_kind NOT IN ('consume', 'adjust') THEN
    RAISE EXCEPTION 'credits_debit: kind must be consume or adjust, not %', p_kind USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_amount IS NULL OR p_amount <= 0 THEN
    RAISE EXCEPTION 'credits_debit: amount must be positive, not %', p_amount USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- The balance row first, as every change of a user's credits does (docs/credits.md, locking order).
  SELECT balance INTO v_balance FROM credit_balances WHERE user_id = p_user_id FOR UPDATE;

  -- Each statement of a function takes a fresh snapshot (read committed): a call with the same key for
  -- this user that held the lock before us has committed, and is seen here.
  SELECT * INTO v_operation FROM credit_operations WHERE key = p_key;
  IF FOUND THEN RETURN credits_debit_replay(v_operation, v_request); END IF;

  -- No balance row: nothing was ever granted to this user.
  IF v_balance IS NULL THEN RETURN jsonb_build_object('outcome', 'short', 'available', 0); END IF;

  -- Burn-down order: soonest expiry first (never-expiring last), promotional before paid, oldest, id.
  -- Only live batches: effective, not past their expiry (`coalesce` rather than an OR, so the planner
  -- keeps to the user's index), not yet swept. Rows are locked as they are read, and reading stops
  -- once the amount is covered.
  FOR v_batch IN
    SELECT id, remaining FROM credit_batches
     WHERE user_id = p_user_id AND expired_at IS NULL AND remaining > 0
       AND effective_at <= p_now AND coalesce(expires_at, 'infinity') > p_now
     order by expires_at asc nulls last, (category = 'paid'), effective_at, id
       FOR UPDATE
  LOOP
    v_available := v_available + v_batch.remaining;
    v_take := least(v_left, v_batch.remaining);
    v_ids := v_ids || v_batch.id;
    v_takes := v_takes || v_take;
    v_left := v_left - v_take;
    EXIT WHEN v_left = 0;
  END LOOP;
  IF v_left > 0 THEN RETURN jsonb_build_object('outcome', 'short', 'available', v_available); END IF;

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

  UPDATE credit_batches b SET remaining = b.remaining - t.take
    FROM unnest(v_ids, v_takes) AS t(id, take)
   WHERE b.id = t.id;
  INSERT INTO credit_ledger (user_id, delta, balance_after, kind, batch_id, operation_key, metadata, created_at)
  SELECT p_user_id, -t.take, v_balance - sum(t.take) OVER (ORDER BY t.n), p_kind, t.id, p_key, p_metadata, p_now
    FROM unnest(v_ids, v_takes) WITH ORDINALITY AS t(id, take, n)
   ORDER BY t.n;
  UPDATE credit_balances
     SET balance = balance - p_amount, total_consumed = total_consumed + p_amount, updated_at = p_now
   WHERE user_id = p_user_id;
  RETURN jsonb_build_object('outcome', 'spent', 'amount', p_amount, 'balanceAfter', v_balance - p_amount, 'entries', cardinality(v_ids));
END
$$;
