import 'server-only';
import { z } from 'zod';

// Creem's objects as its webhooks and API send them (docs.creem.io, "Webhooks" and the OpenAPI
// schemas): only the fields the adapter reads are checked, anything else passes through. Nested
// objects come either expanded or as a bare id, so each reference accepts both.

const id = z.string().min(1);
/** ISO 8601 with an offset, as Creem writes `created_at` on its objects. */
const isoDate = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
/** Milliseconds since the epoch, as Creem writes an event's `created_at` and a transaction's periods. */
const epochMs = z
  .number()
  .int()
  .nonnegative()
  .transform((value) => new Date(value));
/** Key-value pairs set on the checkout (`userId`, `productId`, `orderId`), copied by Creem onto the subscription. */
const metadata = z.record(z.string(), z.unknown());

export const creemProduct = z.looseObject({
  id,
  price: z.number().int().nonnegative().optional(),
  currency: z.string().optional(),
  /** `recurring`, or `onetime` (spelled `one-time` in some of Creem's examples). */
  billing_type: z.string().optional(),
});

export const creemCustomer = z.looseObject({ id, email: z.string().optional() });

export const creemTransaction = z.looseObject({
  id,
  /** Before tax; `amount_paid` is what the customer paid, the figure refunds are expressed in. */
  amount: z.number().int().nonnegative(),
  amount_paid: z.number().int().nonnegative().nullish(),
  currency: z.string(),
  order: z.string().nullish(),
  subscription: z.string().nullish(),
  period_start: epochMs.nullish(),
  period_end: epochMs.nullish(),
  created_at: epochMs.optional(),
});

export const creemOrder = z.looseObject({
  id,
  product: z.string().optional(),
  customer: z.string().nullish(),
  /** The transaction that paid it: what a refund or dispute names beside the order. */
  transaction: z.string().nullish(),
  amount: z.number().int().nonnegative(),
  amount_paid: z.number().int().nonnegative().nullish(),
  currency: z.string(),
  status: z.string(),
  /** `onetime` or `recurring`. */
  type: z.string().optional(),
  created_at: isoDate.optional(),
  updated_at: isoDate.optional(),
});

export const creemSubscription = z.looseObject({
  id,
  product: z.union([id, creemProduct]),
  customer: z.union([id, creemCustomer]),
  /** active, trialing, paused, scheduled_cancel, past_due, unpaid, canceled. */
  status: z.string(),
  last_transaction_id: z.string().nullish(),
  last_transaction: creemTransaction.nullish(),
  last_transaction_date: isoDate.nullish(),
  current_period_start_date: isoDate.nullish(),
  current_period_end_date: isoDate.nullish(),
  canceled_at: isoDate.nullish(),
  updated_at: isoDate.nullish(),
  metadata: metadata.nullish(),
});

export const creemCheckout = z.looseObject({
  id,
  /** pending, processing, completed, expired. */
  status: z.string(),
  request_id: z.string().nullish(),
  product: z.union([id, creemProduct]),
  order: creemOrder.nullish(),
  subscription: z.union([id, creemSubscription]).nullish(),
  customer: z.union([id, creemCustomer]).nullish(),
  checkout_url: z.string().nullish(),
  metadata: metadata.nullish(),
});

/** A refund (`refund.created`) or a dispute (`dispute.created`): both name the transaction, and mostly the order. */
const reversal = {
  id,
  transaction: creemTransaction,
  order: z.union([id, creemOrder]).nullish(),
  created_at: epochMs,
};

export const creemRefund = z.looseObject({
  ...reversal,
  /** pending, succeeded, canceled, failed. */
  status: z.string().optional(),
  refund_amount: z.number().int().nonnegative(),
  refund_currency: z.string(),
});

export const creemDispute = z.looseObject({
  ...reversal,
  amount: z.number().int().nonnegative(),
  currency: z.string(),
});

/** Every delivery: `{ id, eventType, created_at, object }`, the object depending on the type. */
export const creemEnvelope = z.object({
  id,
  eventType: id,
  created_at: epochMs,
  object: z.unknown(),
});

export const creemPortalLinks = z.looseObject({ customer_portal_link: z.url() });

export type CreemProduct = z.infer<typeof creemProduct>;
export type CreemSubscription = z.infer<typeof creemSubscription>;
export type CreemCheckout = z.infer<typeof creemCheckout>;
export type CreemRefund = z.infer<typeof creemRefund>;
export type CreemDispute = z.infer<typeof creemDispute>;
