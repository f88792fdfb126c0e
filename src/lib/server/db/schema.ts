import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
/**
 * An amount of credits: 64-bit in the database, a JS number in the app. Every amount, balance and
 * total is bounded by MAX_CREDITS (2^53 - 1, src/config/credits.ts), so the number is always exact.
 */
const credits = (name: string) => bigint(name, { mode: 'number' });

// ---------------------------------------------------------------------------------------------
// Auth tables, in the shape Better Auth's Drizzle adapter expects (with `usePlural: true`).
// ---------------------------------------------------------------------------------------------

export const users = pgTable('users', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  email: text('email').notNull().unique(),
  emailVerified: boolean('email_verified').notNull().default(false),
  image: text('image'),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  // Better Auth's admin plugin: `role` is a comma-separated list (`user`, `admin`; null: `user`), and a
  // banned user cannot sign in (until `banExpires`, when set).
  role: text('role'),
  banned: boolean('banned').default(false),
  banReason: text('ban_reason'),
  banExpires: timestamptz('ban_expires'),
  /** Whether the daily "credits expiring soon" mail may be sent (opted out on /credits or by the mail's unsubscribe link). */
  expiryNotices: boolean('expiry_notices').notNull().default(true),
});

export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    expiresAt: timestamptz('expires_at').notNull(),
    token: text('token').notNull().unique(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
    ipAddress: text('ip_address'),
    userAgent: text('user_agent'),
    /** Better Auth's admin plugin: the admin who opened this session as the user (impersonation is not offered by the console). */
    impersonatedBy: text('impersonated_by'),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
  },
  (t) => [index('sessions_user_id_idx').on(t.userId)],
);

export const accounts = pgTable(
  'accounts',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull(),
    providerId: text('provider_id').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    accessToken: text('access_token'),
    refreshToken: text('refresh_token'),
    idToken: text('id_token'),
    accessTokenExpiresAt: timestamptz('access_token_expires_at'),
    refreshTokenExpiresAt: timestamptz('refresh_token_expires_at'),
    scope: text('scope'),
    password: text('password'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [index('accounts_user_id_idx').on(t.userId)],
);

export const verifications = pgTable(
  'verifications',
  {
    id: text('id').primaryKey(),
    identifier: text('identifier').notNull(),
    value: text('value').notNull(),
    expiresAt: timestamptz('expires_at').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [index('verifications_identifier_idx').on(t.identifier)],
);

// ---------------------------------------------------------------------------------------------
// Billing and credits.
// ---------------------------------------------------------------------------------------------

/** Where money comes from: the two real providers, and the labelled test checkout of development. */
export const paymentProviders = ['stripe', 'creem', 'test'] as const;

export const subscriptions = pgTable(
  'subscriptions',
  {
    /** The payment provider's id when there is one, otherwise a generated one. */
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    planId: text('plan_id').notNull(),
    /** Copied from the plan at purchase: how the plan pays out credits. */
    billing: text('billing', { enum: ['monthly', 'yearly', 'lifetime'] }).notNull(),
    /** `past_due`: the provider could not collect the last invoice; no new period is granted until one is paid. */
    status: text('status', { enum: ['active', 'past_due', 'canceled'] })
      .notNull()
      .default('active'),
    /** The provider that bills it; null: started by an operator (`credits:admin`), paid outside the app. */
    provider: text('provider', { enum: paymentProviders }),
    /** The provider's customer, for the billing portal. */
    customerId: text('customer_id'),
    /**
     * A provider's monthly plan: the end of the last period paid for. The grant job grants no period
     * that starts at or after it, so only paid periods are granted. Null for an operator's plan.
     */
    paidThrough: timestamptz('paid_through'),
    /** The provider's current period, and whether the plan stops at its end (shown on the billing page). */
    currentPeriodEnd: timestamptz('current_period_end'),
    cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
    /** When the provider produced the state stored here: an event older than this is stale and changes nothing. */
    providerUpdatedAt: timestamptz('provider_updated_at'),
    /** Start of the first billing period; every later period is computed from it. */
    anchorAt: timestamptz('anchor_at').notNull(),
    /**
     * When the plan's paid term ends by itself (a yearly plan: anchor + 12 months); null: it runs until
     * canceled. A plan is in force from `anchorAt` until the earlier of `endsAt` and `canceledAt`.
     */
    endsAt: timestamptz('ends_at'),
    /** When the cancel took effect: what was due before it is still granted, nothing due after it. */
    canceledAt: timestamptz('canceled_at'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    // The jobs look at a user's canceled plans too (what was due before a cancel is still granted).
    index('subscriptions_user_idx').on(t.userId),
    check('subscriptions_canceled_at', sql`(${t.status} = 'canceled') = (${t.canceledAt} is not null)`),
  ],
);

export const jobRuns = pgTable(
  'job_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    job: text('job', { enum: ['grant', 'expire', 'subscription-grants', 'expiring-soon'] }).notNull(),
    /** How the run was started: a cron route by its auth, `cli` (npm run jobs), `admin` (the admin console), `test`. */
    trigger: text('trigger', { enum: ['vercel-cron', 'bearer', 'basic', 'cli', 'admin', 'test'] }).notNull(),
    status: text('status', { enum: ['running', 'succeeded', 'failed'] })
      .notNull()
      .default('running'),
    dryRun: boolean('dry_run').notNull().default(false),
    /** The UTC day a grant run grants for; continuation calls of the same day resume from `cursor`. */
    referenceDate: date('reference_date', { mode: 'string' }),
    params: jsonb('params').$type<Record<string, unknown>>().notNull().default({}),
    results: jsonb('results').$type<Record<string, unknown>>(),
    hasMore: boolean('has_more').notNull().default(false),
    cursor: text('cursor'),
    error: text('error'),
    startedAt: timestamptz('started_at').notNull().defaultNow(),
    finishedAt: timestamptz('finished_at'),
  },
  (t) => [index('job_runs_job_started_idx').on(t.job, t.startedAt.desc())],
);

export const creditBalances = pgTable(
  'credit_balances',
  {
    userId: text('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'restrict' }),
    balance: credits('balance').notNull().default(0),
    totalGranted: bigint('total_granted', { mode: 'number' }).notNull().default(0),
    totalConsumed: bigint('total_consumed', { mode: 'number' }).notNull().default(0),
    totalExpired: bigint('total_expired', { mode: 'number' }).notNull().default(0),
    /**
     * Credits reserved by holds not yet settled (captured or released): out of `balance` already, not
     * yet consumed. `balance + held = total_granted - total_consumed - total_expired`.
     */
    held: credits('held').notNull().default(0),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    check('credit_balances_balance_non_negative', sql`${t.balance} >= 0`),
    // MAX_CREDITS (2^53 - 1): a job that would take a balance past it fails that user instead of writing it.
    check('credit_balances_balance_bounded', sql`${t.balance} <= 9007199254740991`),
    check('credit_balances_held_range', sql`${t.held} >= 0 and ${t.held} <= 9007199254740991`),
    // A release moves held credits back to the balance: it must always fit, so grants (and the jobs'
    // grants, which fail that user instead) keep balance + held within MAX_CREDITS.
    check('credit_balances_with_held_bounded', sql`${t.balance} + ${t.held} <= 9007199254740991`),
  ],
);

export const creditSources = ['signup', 'free', 'subscription', 'lifetime', 'schedule', 'purchase', 'admin'] as const;
export const creditCategories = ['paid', 'promotional'] as const;

export const creditBatches = pgTable(
  'credit_batches',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    amount: credits('amount').notNull(),
    remaining: credits('remaining').notNull(),
    source: text('source', { enum: creditSources }).notNull(),
    category: text('category', { enum: creditCategories }).notNull(),
    effectiveAt: timestamptz('effective_at').notNull(),
    /** Null: never expires. */
    expiresAt: timestamptz('expires_at'),
    /** Set once by the expiry job; `expiredAmount` is what the batch lost then. */
    expiredAt: timestamptz('expired_at'),
    expiredAmount: credits('expired_amount').notNull().default(0),
    idempotencyKey: text('idempotency_key').notNull(),
    subscriptionId: text('subscription_id').references(() => subscriptions.id),
    scheduleId: uuid('schedule_id'),
    installment: integer('installment'),
    purchaseId: text('purchase_id'),
    /**
     * The run that granted it. No foreign key, on purpose: the runner writes the run's row before any
     * work and run rows are never deleted, so the check would only cost a lock on the same job_runs
     * row for every granted batch (it measured at about a sixth of the job's time).
     */
    jobRunId: uuid('job_run_id'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('credit_batches_idempotency_key_idx').on(t.idempotencyKey),
    // Consumption reads a user's live batches in burn-down order. `remaining` is deliberately not in
    // the predicate (nor in any index): a spend then updates its batch in place (a HOT update, room kept
    // by the table's fillfactor, migration 0014) instead of writing a new entry in every index of the
    // table. The price: a user's emptied batches stay in this index until they expire, and emptied
    // batches that never expire (lifetime credits, packs without validity) stay in it for good; a spend
    // steps over them (about 0.2 µs each: 3 000 of them cost a spend 0.7 ms).
    index('credit_batches_live_user_idx')
      .on(t.userId, t.expiresAt)
      .where(sql`${t.expiredAt} is null`),
    // The expiry job walks due batches in (expires_at, id) order.
    index('credit_batches_due_expiry_idx')
      .on(t.expiresAt, t.id)
      .where(sql`${t.expiredAt} is null and ${t.expiresAt} is not null`),
    index('credit_batches_job_run_idx')
      .on(t.jobRunId)
      .where(sql`${t.jobRunId} is not null`),
    check('credit_batches_amount_positive', sql`${t.amount} > 0 and ${t.amount} <= 9007199254740991`),
    check('credit_batches_remaining_range', sql`${t.remaining} >= 0 and ${t.remaining} <= ${t.amount}`),
    check('credit_batches_expired_empty', sql`${t.expiredAt} is null or ${t.remaining} = 0`),
    check('credit_batches_expired_amount_range', sql`${t.expiredAmount} >= 0 and ${t.expiredAmount} <= ${t.amount}`),
    check('credit_batches_expiry_after_effective', sql`${t.expiresAt} is null or ${t.expiresAt} > ${t.effectiveAt}`),
  ],
);

/**
 * A batch the "credits expiring soon" mail has named: one row per batch, claimed (inserted) in the same
 * transaction that picks it, so no batch is ever named twice, whatever runs overlap. `sentAt` is set once
 * the mail was accepted by the SMTP server; a refused mail deletes its claims (the next run tries again).
 */
export const creditExpiryNotices = pgTable(
  'credit_expiry_notices',
  {
    batchId: bigint('batch_id', { mode: 'number' })
      .primaryKey()
      .references(() => creditBatches.id, { onDelete: 'restrict' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    /** The run that claimed it (no foreign key, as for `credit_batches.job_run_id`). */
    jobRunId: uuid('job_run_id').notNull(),
    claimedAt: timestamptz('claimed_at').notNull(),
    sentAt: timestamptz('sent_at'),
  },
  (t) => [index('credit_expiry_notices_user_idx').on(t.userId)],
);

/**
 * `revoke`: credits taken back because the payment that bought them was refunded or disputed.
 * `reserve`, `capture`, `release`: a hold (docs/credits.md, holds): credits taken out of batches for work
 * in progress, then kept as spent (`capture`, an entry that moves nothing) or given back (`release`).
 */
export const ledgerKinds = ['grant', 'consume', 'expire', 'refund', 'adjust', 'void', 'revoke', 'reserve', 'capture', 'release'] as const;

export const creditLedger = pgTable(
  'credit_ledger',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    // The balance row, not the user: every change locks it first, so checking the key costs no lock of
    // its own (a key on users took a share lock on the user's row, and wrote it, on every entry).
    userId: text('user_id')
      .notNull()
      .references(() => creditBalances.userId, { onDelete: 'restrict' }),
    delta: credits('delta').notNull(),
    balanceAfter: credits('balance_after').notNull(),
    kind: text('kind', { enum: ledgerKinds }).notNull(),
    batchId: bigint('batch_id', { mode: 'number' }).references(() => creditBatches.id),
    /** The key of the operation that wrote this entry: a consumption spanning three batches writes three entries under one key. */
    operationKey: text('operation_key').notNull(),
    /** The run that wrote it; no foreign key, for the reason given on credit_batches.job_run_id. */
    jobRunId: uuid('job_run_id'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('credit_ledger_user_history_idx').on(t.userId, t.id.desc()),
    index('credit_ledger_operation_key_idx').on(t.operationKey),
    // A batch is granted once and expires once per operation: the expiry job's sweep (`expire:{batchId}`)
    // once, and each hold's release into a batch that had expired meanwhile (under the release's key) once.
    uniqueIndex('credit_ledger_one_grant_per_batch_idx')
      .on(t.batchId)
      .where(sql`${t.kind} = 'grant'`),
    uniqueIndex('credit_ledger_one_expiry_per_batch_idx')
      .on(t.batchId, t.operationKey)
      .where(sql`${t.kind} = 'expire'`),
    // Every entry moves credits, except a capture: the credits already left the batches at the reserve,
    // and the capture records that they stay spent (its amount is the hold's `captured`).
    check('credit_ledger_delta_non_zero', sql`(${t.delta} = 0) = (${t.kind} = 'capture')`),
    check('credit_ledger_balance_after_non_negative', sql`${t.balanceAfter} >= 0`),
  ],
);

/**
 * One row per idempotency key, whatever it names: a grant (its batch has the same key), a consumption
 * or a deduction. The primary key is the single key namespace: the database, not a lookup, refuses
 * one key for two operations. Replays read the stored outcome from here.
 */
export const creditOperations = pgTable('credit_operations', {
  key: text('key').primaryKey(),
  // The balance row, as the ledger's entries: locked first by every change, so the check takes no lock.
  userId: text('user_id')
    .notNull()
    .references(() => creditBalances.userId, { onDelete: 'restrict' }),
  kind: text('kind', { enum: ledgerKinds }).notNull(),
  amount: credits('amount').notNull(),
  balanceAfter: credits('balance_after').notNull(),
  metadata: jsonb('metadata').$type<Record<string, unknown>>(),
  /**
   * What the caller asked for (user, amount, product…), compared when the key comes again: the same
   * request is a replay, another one is refused. Null for grants the jobs write (their keys are
   * derived from what they grant).
   */
  request: jsonb('request').$type<Record<string, unknown>>(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

export const holdStatuses = ['held', 'captured', 'released', 'expired'] as const;

/**
 * A hold: credits reserved for work in progress (docs/credits.md, holds). The reserve took them out of
 * the batches in burn-down order (`reserve` entries under `key`, which is also its operation's key);
 * settling it captures part or all of them as spent and releases the rest (`release` entries under
 * `release:{key}`). `expired`: released because its time ran out before a capture.
 */
export const creditHolds = pgTable(
  'credit_holds',
  {
    key: text('key').primaryKey(),
    // The balance row, as the ledger's entries (a reserve locks it first).
    userId: text('user_id')
      .notNull()
      .references(() => creditBalances.userId, { onDelete: 'restrict' }),
    amount: credits('amount').notNull(),
    captured: credits('captured').notNull().default(0),
    released: credits('released').notNull().default(0),
    status: text('status', { enum: holdStatuses }).notNull().default('held'),
    /** After it, the hold can no longer be captured, and the expiry job (or the user's next reserve) releases it. */
    expiresAt: timestamptz('expires_at').notNull(),
    reason: text('reason'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
    createdAt: timestamptz('created_at').notNull(),
    settledAt: timestamptz('settled_at'),
  },
  (t) => [
    // A reserve releases its user's timed-out holds first; the expiry job walks every timed-out hold.
    index('credit_holds_held_user_idx')
      .on(t.userId, t.expiresAt)
      .where(sql`${t.status} = 'held'`),
    index('credit_holds_held_expiry_idx')
      .on(t.expiresAt, t.userId)
      .where(sql`${t.status} = 'held'`),
    check('credit_holds_amount_positive', sql`${t.amount} > 0 and ${t.amount} <= 9007199254740991`),
    check(
      'credit_holds_settled_adds_up',
      sql`${t.captured} >= 0 and ${t.released} >= 0 and ${t.captured} + ${t.released} = case when ${t.status} = 'held' then 0 else ${t.amount} end`,
    ),
    check('credit_holds_captured_status', sql`(${t.captured} > 0) = (${t.status} = 'captured')`),
    check('credit_holds_settled_at', sql`(${t.settledAt} is null) = (${t.status} = 'held')`),
    check('credit_holds_expiry_after_creation', sql`${t.expiresAt} > ${t.createdAt}`),
  ],
);

export const takeBackKinds = ['revoke', 'void'] as const;

/**
 * Credits a refund, a dispute or a void could not take back because a hold had them (docs/credits.md,
 * holds): the release of that hold takes them back from the batch first (a `release` entry, then a
 * `revoke` or `void` entry under the release's key); a capture leaves them spent, and the row's
 * `pending` falls to what the batch still has held. `pending` never exceeds the batch's held credits.
 */
export const creditTakeBacks = pgTable(
  'credit_take_backs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    batchId: bigint('batch_id', { mode: 'number' })
      .notNull()
      .references(() => creditBatches.id, { onDelete: 'restrict' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    /** The operation that owes it: its key (a refund's `revoke:…`, a void's `void:{run}:{batch}`), one row per batch. */
    operationKey: text('operation_key').notNull(),
    kind: text('kind', { enum: takeBackKinds }).notNull(),
    /** What it owed when written, and what it still owes. */
    amount: credits('amount').notNull(),
    pending: credits('pending').notNull(),
    /** The metadata of the entries that take it back (the reversal's or the void's). */
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('credit_take_backs_batch_operation_idx').on(t.batchId, t.operationKey),
    index('credit_take_backs_pending_idx')
      .on(t.batchId)
      .where(sql`${t.pending} > 0`),
    check('credit_take_backs_pending_range', sql`${t.pending} >= 0 and ${t.pending} <= ${t.amount}`),
  ],
);

export const creditSchedules = pgTable(
  'credit_schedules',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    subscriptionId: text('subscription_id')
      .notNull()
      .references(() => subscriptions.id),
    planId: text('plan_id').notNull(),
    category: text('category', { enum: creditCategories }).notNull(),
    creditsPerInstallment: credits('credits_per_installment').notNull(),
    installmentsTotal: integer('installments_total').notNull(),
    installmentsDone: integer('installments_done').notNull().default(0),
    creditsTotal: credits('credits_total').notNull(),
    creditsGranted: credits('credits_granted').notNull().default(0),
    creditsRemaining: credits('credits_remaining').notNull(),
    intervalMonths: integer('interval_months').notNull(),
    /** Null: installments never expire. */
    validityDays: integer('validity_days'),
    anchorAt: timestamptz('anchor_at').notNull(),
    /** The payment of the term this schedule pays out (`payments.id`); null for an operator's plan. */
    paymentId: text('payment_id'),
    /** Null once every installment is granted or the subscription is canceled. */
    nextDueAt: timestamptz('next_due_at'),
    status: text('status', { enum: ['active', 'completed', 'canceled'] })
      .notNull()
      .default('active'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    // One schedule per paid term: a yearly plan renewed gets a new term's schedule from its new anchor.
    uniqueIndex('credit_schedules_subscription_term_idx').on(t.subscriptionId, t.anchorAt),
    index('credit_schedules_due_idx')
      .on(t.nextDueAt, t.id)
      .where(sql`${t.status} = 'active'`),
    check('credit_schedules_installments_range', sql`${t.installmentsDone} >= 0 and ${t.installmentsDone} <= ${t.installmentsTotal}`),
    check('credit_schedules_credits_add_up', sql`${t.creditsGranted} + ${t.creditsRemaining} = ${t.creditsTotal}`),
    check('credit_schedules_credits_non_negative', sql`${t.creditsGranted} >= 0 and ${t.creditsRemaining} >= 0`),
    check('credit_schedules_interval_positive', sql`${t.intervalMonths} > 0 and ${t.installmentsTotal} > 0`),
  ],
);

// ---------------------------------------------------------------------------------------------
// Payments: what the providers told us, and what each payment bought.
// ---------------------------------------------------------------------------------------------

/** A user's customer record at a provider (Stripe's `cus_…`, Creem's `cust_…`). */
export const billingCustomers = pgTable(
  'billing_customers',
  {
    provider: text('provider', { enum: paymentProviders }).notNull(),
    customerId: text('customer_id').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.customerId] }), uniqueIndex('billing_customers_user_idx').on(t.provider, t.userId)],
);

/**
 * A checkout a signed-in user started: written before the provider is called, and its id is the
 * provider's idempotency key. Fulfilment never depends on it (a paid checkout started elsewhere is
 * fulfilled too); it only lets the success page and the billing page follow the purchase.
 */
export const checkoutOrders = pgTable(
  'checkout_orders',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    provider: text('provider', { enum: paymentProviders }).notNull(),
    productId: text('product_id').notNull(),
    status: text('status', { enum: ['pending', 'completed'] })
      .notNull()
      .default('pending'),
    /** The provider's checkout (Stripe's `cs_…`, Creem's checkout id), once created. */
    checkoutId: text('checkout_id'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    completedAt: timestamptz('completed_at'),
  },
  (t) => [index('checkout_orders_user_idx').on(t.userId, t.createdAt.desc()), index('checkout_orders_checkout_idx').on(t.checkoutId)],
);

export const paymentKinds = ['pack', 'lifetime', 'period', 'term', 'proration'] as const;

/**
 * Money received, one row per paid thing (a one-time payment, a paid invoice), and what it bought.
 * `id` is `{provider}:{the provider's id of the paid object}`: the key every grant it pays for derives from.
 */
export const payments = pgTable(
  'payments',
  {
    id: text('id').primaryKey(),
    provider: text('provider', { enum: paymentProviders }).notNull(),
    /** The paid object: a checkout session or invoice (Stripe), an order (Creem). */
    providerPaymentId: text('provider_payment_id').notNull(),
    /** What refunds and disputes name instead (Stripe's payment intent, Creem's transaction), when known. */
    providerChargeId: text('provider_charge_id'),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    productId: text('product_id').notNull(),
    kind: text('kind', { enum: paymentKinds }).notNull(),
    subscriptionId: text('subscription_id').references(() => subscriptions.id),
    /** Minor units (cents) of `currency`. */
    amount: bigint('amount', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    amountRefunded: bigint('amount_refunded', { mode: 'number' }).notNull().default(0),
    status: text('status', { enum: ['paid', 'partially_refunded', 'refunded', 'disputed'] })
      .notNull()
      .default('paid'),
    /** Credits this payment granted (for a term: its installments so far; for lifetime: its months so far, see the batches). */
    creditsGranted: credits('credits_granted').notNull().default(0),
    /** The key of the grant this payment made at once (a pack, a period, a proration); null for a term or lifetime. */
    grantKey: text('grant_key'),
    /** The period paid for (subscriptions). */
    periodStart: timestamptz('period_start'),
    periodEnd: timestamptz('period_end'),
    paidAt: timestamptz('paid_at').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    /**
     * When the receipt mail was handed to the SMTP server: claimed (set) just before sending, cleared
     * again if the server refused it. Null on a payment whose receipt could not be sent (see docs/mail.md).
     */
    receiptSentAt: timestamptz('receipt_sent_at'),
  },
  (t) => [
    index('payments_user_idx').on(t.userId, t.paidAt.desc()),
    index('payments_charge_idx').on(t.provider, t.providerChargeId),
    index('payments_subscription_idx').on(t.subscriptionId),
    check('payments_amount_range', sql`${t.amount} >= 0 and ${t.amountRefunded} >= 0 and ${t.amountRefunded} <= ${t.amount}`),
  ],
);

/** Every webhook event applied, by the provider's event id: a redelivery answers "duplicate" and changes nothing. */
export const billingEvents = pgTable(
  'billing_events',
  {
    provider: text('provider', { enum: paymentProviders }).notNull(),
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    /** What the event did, for support: the normalized events and their outcomes. */
    outcome: jsonb('outcome').$type<unknown>(),
    receivedAt: timestamptz('received_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.eventId] })],
);

/**
 * The end of a subscription the app had not seen yet (its deletion arrived before its first paid
 * invoice): remembered here, and applied when that invoice creates the subscription.
 */
export const billingSubscriptionEnds = pgTable(
  'billing_subscription_ends',
  {
    provider: text('provider', { enum: paymentProviders }).notNull(),
    subscriptionId: text('subscription_id').notNull(),
    endedAt: timestamptz('ended_at').notNull(),
    asOf: timestamptz('as_of').notNull(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.subscriptionId] })],
);

/** A refund or dispute of a payment, by the provider's id, and what it took back. */
export const paymentReversals = pgTable(
  'payment_reversals',
  {
    id: text('id').primaryKey(),
    paymentId: text('payment_id')
      .notNull()
      .references(() => payments.id),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    kind: text('kind', { enum: ['refund', 'dispute'] }).notNull(),
    /** Minor units of the payment's currency. */
    amount: bigint('amount', { mode: 'number' }).notNull(),
    /** Unspent credits of the payment taken back. */
    creditsTakenBack: credits('credits_taken_back').notNull(),
    /** The refunded share of the payment's credits that had already been spent (or had expired): recorded, never taken below zero. */
    creditsNotRecovered: credits('credits_not_recovered').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [index('payment_reversals_payment_idx').on(t.paymentId)],
);

// ---------------------------------------------------------------------------------------------
// The admin console's audit trail.
// ---------------------------------------------------------------------------------------------

/** What an admin can do from the console; each one is one row of `admin_audit`. */
export const adminActions = ['adjust_credits', 'void_job_run', 'run_job', 'ban_user', 'unban_user', 'set_role'] as const;

/**
 * Every admin action, its parameters and its outcome, under the key the console's form was rendered
 * with: the same submission again replays this row's outcome instead of acting twice. `outcome` is null
 * while the action runs (or if its process died mid-way); a refusal is an outcome too.
 */
export const adminAudit = pgTable(
  'admin_audit',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    adminUserId: text('admin_user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    /** The admin's e-mail when they acted: the trail reads the same after an e-mail change. */
    adminEmail: text('admin_email').notNull(),
    action: text('action', { enum: adminActions }).notNull(),
    targetUserId: text('target_user_id').references(() => users.id, { onDelete: 'restrict' }),
    /** No foreign key, as on credit_batches.job_run_id: run rows are never deleted. */
    targetJobRunId: uuid('target_job_run_id'),
    params: jsonb('params').$type<Record<string, unknown>>().notNull(),
    outcome: jsonb('outcome').$type<Record<string, unknown>>(),
    idempotencyKey: text('idempotency_key').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    completedAt: timestamptz('completed_at'),
  },
  (t) => [
    uniqueIndex('admin_audit_idempotency_key_idx').on(t.idempotencyKey),
    index('admin_audit_created_idx').on(t.createdAt.desc(), t.id.desc()),
    index('admin_audit_target_user_idx')
      .on(t.targetUserId)
      .where(sql`${t.targetUserId} is not null`),
  ],
);

/**
 * Attempts counted by the auth rate limit (src/config/rate-limits.ts), one row per rule and client
 * address or e-mail (`sign-in:ip:203.0.113.7`, `sign-in:email:ann@example.com`). In the database, not
 * in a process's memory, so every instance and serverless invocation counts the same attempts. A row
 * whose window has ended is reset by its next attempt, or deleted by the pruning of a later one.
 */
export const authRateLimits = pgTable(
  'auth_rate_limits',
  {
    key: text('key').primaryKey(),
    /** Attempts since the window started, the refused ones included. */
    count: integer('count').notNull(),
    /** When the window ends and the count starts again from the next attempt. */
    resetsAt: timestamptz('resets_at').notNull(),
  },
  (t) => [index('auth_rate_limits_resets_at_idx').on(t.resetsAt), check('auth_rate_limits_count_positive', sql`${t.count} > 0`)],
);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type Subscription = typeof subscriptions.$inferSelect;
export type NewSubscription = typeof subscriptions.$inferInsert;
export type JobRun = typeof jobRuns.$inferSelect;
export type CreditBalance = typeof creditBalances.$inferSelect;
export type CreditBatch = typeof creditBatches.$inferSelect;
export type NewCreditBatch = typeof creditBatches.$inferInsert;
export type LedgerEntry = typeof creditLedger.$inferSelect;
export type CreditOperation = typeof creditOperations.$inferSelect;
export type CreditSchedule = typeof creditSchedules.$inferSelect;
export type CreditHold = typeof creditHolds.$inferSelect;
export type HoldStatus = (typeof holdStatuses)[number];
export type CreditSource = (typeof creditSources)[number];
export type CreditCategory = (typeof creditCategories)[number];
export type LedgerKind = (typeof ledgerKinds)[number];
export type JobName = JobRun['job'];
export type PaymentProviderId = (typeof paymentProviders)[number];
export type Payment = typeof payments.$inferSelect;
export type PaymentKind = (typeof paymentKinds)[number];
export type CheckoutOrder = typeof checkoutOrders.$inferSelect;
export type PaymentReversal = typeof paymentReversals.$inferSelect;
export type JobTrigger = JobRun['trigger'];
export type AdminAuditRow = typeof adminAudit.$inferSelect;
export type AdminAction = (typeof adminActions)[number];
