import { z } from 'zod';
import { creditCategories } from '@/lib/server/db/schema';

// What a product team edits to change who gets how many credits, for how long.
// Checked with zod when the module loads, so a typo fails start-up instead of a cron run.

/**
 * The largest amount of credits anything may hold: one grant, one spend, a plan's total, a balance.
 * 2^53 - 1, the largest whole number JavaScript represents exactly (the database stores 64 bits).
 */
export const MAX_CREDITS = Number.MAX_SAFE_INTEGER;
/** A whole, positive number of credits, at most MAX_CREDITS. */
export const creditAmount = z.number().int().positive().max(MAX_CREDITS);
/** A yearly plan's paid term, in months from its anchor: after it the user is back on the free tier until a renewal. */
export const YEARLY_TERM_MONTHS = 12;

const category = z.enum(creditCategories);
/** What a plan or pack costs, in minor units (cents) of an ISO currency; a subscription's price is per billing period. */
const price = z.object({
  amount: z.number().int().positive(),
  currency: z.string().regex(/^[a-z]{3}$/, 'a lower-case ISO currency code such as usd'),
});
/** Days a batch stays spendable after it becomes effective; null: never expires. */
const validityDays = z.number().int().positive().nullable();

const monthlyPlan = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  billing: z.literal('monthly'),
  price,
  /** Credits granted at the start of each billing period; they expire when the period ends (plus grace). */
  creditsPerPeriod: creditAmount,
  /** Extra days credits of a period stay spendable after it ends (at most 28, so two periods never overlap by more than one). */
  graceDays: z.number().int().min(0).max(28),
  category,
});

const yearlyPlan = z
  .object({
    id: z.string().min(1),
    name: z.string().min(1),
    billing: z.literal('yearly'),
    price,
    /** Credits bought for the whole term, paid out in `installments` parts; the last part takes the remainder. */
    totalCredits: creditAmount,
    installments: z.number().int().min(1).max(120),
    /** Months between installments, counted from the purchase date (the anchor). */
    intervalMonths: z.number().int().min(1).max(12),
    /** Each installment's validity, counted from when it is actually granted. */
    validityDays,
    category,
  })
  .refine((plan) => plan.totalCredits >= plan.installments, {
    message: 'totalCredits must be at least the number of installments',
  })
  .refine((plan) => (plan.installments - 1) * plan.intervalMonths < YEARLY_TERM_MONTHS, {
    message: `every installment must fall within the ${YEARLY_TERM_MONTHS}-month term`,
  });

const lifetimePlan = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  billing: z.literal('lifetime'),
  price,
  /** Credits granted each UTC calendar month; they expire at the end of that month. */
  creditsPerMonth: creditAmount,
  category,
});

export const creditsConfigSchema = z
  .object({
    signupBonus: z.object({
      /** Granted once, when the user's e-mail address is verified (key `signup:{userId}`). */
      credits: creditAmount,
      validityDays,
      category,
    }),
    freeTier: z.object({
      /** Granted once per UTC calendar month to users with no paid plan in force that month (key `free:{userId}:{YYYY-MM}`). */
      credits: creditAmount,
      /** Null: the credits expire at the end of the month they were granted for. */
      validityDays,
      category,
    }),
    plans: z.array(z.discriminatedUnion('billing', [monthlyPlan, yearlyPlan, lifetimePlan])).min(1),
    packs: z
      .array(
        z.object({
          id: z.string().min(1),
          name: z.string().min(1),
          credits: creditAmount,
          validityDays,
          category,
          price,
        }),
      )
      .min(1),
    /** The demo action on the credits page costs this many credits per click. */
    demoActionCost: creditAmount,
    holds: z
      .object({
        /**
         * How long a hold (reserveCredits, withCredits) waits for its capture when the caller names no
         * time: longer than the work it covers takes, short enough that a crashed worker's credits come
         * back soon (the user's next reserve, or the expiry job, releases it).
         */
        defaultTtlSeconds: z.number().int().positive(),
        /** The longest time a caller may ask for (at most 7 days). */
        maxTtlSeconds: z
          .number()
          .int()
          .positive()
          .max(7 * 24 * 3600),
      })
      .refine((holds) => holds.defaultTtlSeconds <= holds.maxTtlSeconds, { message: 'defaultTtlSeconds must be at most maxTtlSeconds' }),
    expiryNotices: z.object({
      /**
       * The daily "credits expiring soon" mail names every batch that expires within this many days
       * (and has credits left), once per batch. 1…90.
       */
      daysAhead: z.number().int().min(1).max(90),
    }),
  })
  .refine(
    (config) => new Set([...config.plans, ...config.packs].map((product) => product.id)).size === config.plans.length + config.packs.length,
    { message: 'plan and pack ids must be unique across both (a checkout names one product id)' },
  );

export type CreditsConfig = z.infer<typeof creditsConfigSchema>;
export type Plan = CreditsConfig['plans'][number];
export type MonthlyPlan = Extract<Plan, { billing: 'monthly' }>;
export type YearlyPlan = Extract<Plan, { billing: 'yearly' }>;
export type LifetimePlan = Extract<Plan, { billing: 'lifetime' }>;
export type CreditPack = CreditsConfig['packs'][number];

export const creditsConfig: CreditsConfig = creditsConfigSchema.parse({
  signupBonus: { credits: 100, validityDays: 30, category: 'promotional' },
  freeTier: { credits: 50, validityDays: null, category: 'promotional' },
  plans: [
    // One grace day: the grant job runs once a day (01:00 UTC), so a period that starts at 15:00 is
    // granted the next morning; the previous period's credits stay spendable until then.
    {
      id: 'pro-monthly',
      name: 'Pro (monthly)',
      billing: 'monthly',
      price: { amount: 1_900, currency: 'usd' },
      creditsPerPeriod: 1_000,
      graceDays: 1,
      category: 'paid',
    },
    {
      id: 'starter-monthly',
      name: 'Starter (monthly)',
      billing: 'monthly',
      price: { amount: 700, currency: 'usd' },
      creditsPerPeriod: 300,
      graceDays: 1,
      category: 'paid',
    },
    // 10 000 credits over 12 monthly installments: 833 each, the twelfth takes the remaining 837.
    {
      id: 'pro-yearly',
      name: 'Pro (yearly)',
      billing: 'yearly',
      price: { amount: 19_000, currency: 'usd' },
      totalCredits: 10_000,
      installments: 12,
      intervalMonths: 1,
      validityDays: 45,
      category: 'paid',
    },
    {
      id: 'lifetime',
      name: 'Lifetime',
      billing: 'lifetime',
      price: { amount: 29_900, currency: 'usd' },
      creditsPerMonth: 500,
      category: 'paid',
    },
  ],
  packs: [
    { id: 'pack-500', name: '500 credits', price: { amount: 500, currency: 'usd' }, credits: 500, validityDays: 365, category: 'paid' },
    {
      id: 'pack-2000',
      name: '2 000 credits',
      price: { amount: 1_500, currency: 'usd' },
      credits: 2_000,
      validityDays: null,
      category: 'paid',
    },
  ],
  demoActionCost: 10,
  holds: { defaultTtlSeconds: 15 * 60, maxTtlSeconds: 24 * 3600 },
  expiryNotices: { daysAhead: 7 },
});

export function findPlan(config: CreditsConfig, planId: string): Plan | undefined {
  return config.plans.find((plan) => plan.id === planId);
}

/** A plan or a pack: what a checkout sells. Product ids are unique across both (checked at load). */
export type Product = { kind: 'plan'; plan: Plan } | { kind: 'pack'; pack: CreditPack };

export function findProduct(config: CreditsConfig, productId: string): Product | undefined {
  const plan = findPlan(config, productId);
  if (plan) return { kind: 'plan', plan };
  const pack = findPack(config, productId);
  return pack ? { kind: 'pack', pack } : undefined;
}

export function findPack(config: CreditsConfig, packId: string): CreditPack | undefined {
  return config.packs.find((pack) => pack.id === packId);
}
