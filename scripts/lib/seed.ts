// Demo data: users on every plan, at every stage, built with the real usecases with `now` moved into
// the past, so that on a fresh database each cron route has work to do (npm run dev, npm run db:seed).
import type { Database } from '@/lib/server/db/types';
import type { User } from '@/lib/server/db/schema';
import { addUtcDays, addUtcMonths } from '@/lib/server/credits/time';
import { createUser } from '@/lib/server/usecases/create-user';
import { startSubscription } from '@/lib/server/usecases/start-subscription';
import { cancelSubscription } from '@/lib/server/usecases/cancel-subscription';
import { purchaseCreditPack } from '@/lib/server/usecases/purchase-credit-pack';
import { consumeCredits } from '@/lib/server/usecases/consume-credits';
import { adjustCredits } from '@/lib/server/usecases/adjust-credits';
import { getCreditSummary } from '@/lib/server/usecases/get-credit-summary';

export type SeedParams = {
  now: Date;
  /** Appended to every e-mail (`free+tag@example.com`), so the seed can run again on a database that has it. */
  tag?: string;
};

export type SeededUser = { email: string; userId: string; story: string };

type Story = {
  email: string;
  name: string;
  story: string;
  build: (db: Database, t: Timeline, user: (createdAt: Date) => Promise<User>) => Promise<User>;
};

type Timeline = { now: Date; today: Date; daysAgo(n: number): Date; monthsAgo(n: number): Date };

function timeline(now: Date): Timeline {
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  return { now, today, daysAgo: (n) => addUtcDays(now, -n), monthsAgo: (n) => addUtcMonths(now, -n) };
}

/** The last 31st strictly before `today`, at 09:00 UTC: its billing periods end on the 28th-30th in short months. */
function lastThirtyFirst(today: Date): Date {
  for (let months = 0; ; months++) {
    const firstOfMonth = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - months, 1));
    const candidate = new Date(Date.UTC(firstOfMonth.getUTCFullYear(), firstOfMonth.getUTCMonth(), 31, 9));
    if (candidate.getUTCDate() === 31 && candidate < today) return candidate;
  }
}

async function must<T extends { ok: boolean }>(label: string, result: Promise<T>): Promise<T> {
  const value = await result;
  if (!value.ok) throw new Error(`seed: ${label} failed: ${JSON.stringify(value)}`);
  return value;
}

async function subscribe(db: Database, userId: string, planId: string, at: Date) {
  const result = await must(
    `subscribe ${planId}`,
    startSubscription(db, { userId, planId, subscriptionId: `seed-${userId}-${planId}`, now: at }),
  );
  if (!result.ok) throw new Error('unreachable');
  return result.subscription;
}

async function spend(db: Database, userId: string, amount: number, at: Date, n: number) {
  await must('consume', consumeCredits(db, { userId, amount, reason: 'demo action', idempotencyKey: `seed:${userId}:${n}`, now: at }));
}

const STORIES: Story[] = [
  {
    email: 'demo',
    name: 'Demo User',
    story: 'Pro monthly, a new billing period starts today (grant job); a 500-credit pack; some spending',
    build: async (db, t, user) => {
      const u = await user(t.monthsAgo(3));
      await subscribe(db, u.id, 'pro-monthly', addUtcMonths(t.today, -1));
      await must('pack', purchaseCreditPack(db, { userId: u.id, packId: 'pack-500', purchaseId: `seed-pack-${u.id}`, now: t.daysAgo(20) }));
      await spend(db, u.id, 120, t.daysAgo(12), 1);
      await spend(db, u.id, 40, t.daysAgo(2), 2);
      return u;
    },
  },
  {
    email: 'free-new',
    name: 'Fresh Free User',
    story: "Free plan, signed up 5 days ago: sign-up bonus and this month's free credits live",
    build: (_db, t, user) => user(t.daysAgo(5)),
  },
  {
    email: 'free-returning',
    name: 'Returning Free User',
    story: 'Free plan since two months: bonus and old free months to expire (expire job), this month due (grant job)',
    build: async (db, t, user) => {
      const u = await user(t.monthsAgo(2));
      await spend(db, u.id, 30, addUtcDays(t.monthsAgo(2), 1), 1);
      return u;
    },
  },
  {
    email: 'free-expiring',
    name: 'Expiring Bonus User',
    story: 'Free plan, sign-up bonus about to expire (tomorrow)',
    build: (_db, t, user) => user(t.daysAgo(29)),
  },
  {
    email: 'exhausted',
    name: 'Exhausted User',
    story: 'Pro monthly since up to 10 days, spent everything: balance 0 until the next period',
    build: async (db, t, user) => {
      // Not before this month: last month's free credits would still count in the balance until the expire job runs.
      const start = new Date(Math.max(t.daysAgo(10).getTime(), Date.UTC(t.today.getUTCFullYear(), t.today.getUTCMonth(), 1)));
      const u = await user(start);
      await subscribe(db, u.id, 'pro-monthly', start);
      const summary = await getCreditSummary(db, { userId: u.id, now: t.now });
      await spend(db, u.id, summary.available, t.now, 1);
      return u;
    },
  },
  {
    email: 'monthly-31st',
    name: 'Anchor On The 31st',
    story: 'Pro monthly anchored on a 31st: periods start on the 28th-30th in short months, the 31st after them',
    build: async (db, t, user) => {
      const anchor = lastThirtyFirst(t.today);
      const u = await user(anchor);
      await subscribe(db, u.id, 'pro-monthly', anchor);
      return u;
    },
  },
  {
    email: 'yearly-overdue',
    name: 'Overdue Yearly User',
    story: 'Pro yearly, three installments overdue (subscription-grants job); first installment expired (expire job)',
    build: async (db, t, user) => {
      const anchor = addUtcDays(addUtcMonths(t.today, -3), -10);
      const u = await user(anchor);
      await subscribe(db, u.id, 'pro-yearly', anchor);
      await spend(db, u.id, 200, addUtcDays(anchor, 3), 1);
      return u;
    },
  },
  {
    email: 'yearly-current',
    name: 'Current Yearly User',
    story: 'Pro yearly bought 10 days ago: next installment due in about 20 days',
    build: async (db, t, user) => {
      const u = await user(t.daysAgo(10));
      await subscribe(db, u.id, 'pro-yearly', t.daysAgo(10));
      return u;
    },
  },
  {
    email: 'yearly-canceled',
    name: 'Canceled Yearly User',
    story: 'Pro yearly canceled a month ago: no further installments',
    build: async (db, t, user) => {
      const u = await user(addUtcDays(t.monthsAgo(2), -3));
      const sub = await subscribe(db, u.id, 'pro-yearly', addUtcDays(t.monthsAgo(2), -3));
      await must('cancel', cancelSubscription(db, { subscriptionId: sub.id, now: addUtcDays(t.monthsAgo(1), -5) }));
      return u;
    },
  },
  {
    email: 'monthly-canceled',
    name: 'Canceled Monthly User',
    story: 'Pro monthly canceled 20 days ago: no further periods, back on free credits',
    build: async (db, t, user) => {
      const u = await user(addUtcDays(t.monthsAgo(2), -5));
      const sub = await subscribe(db, u.id, 'pro-monthly', addUtcDays(t.monthsAgo(2), -5));
      await must('cancel', cancelSubscription(db, { subscriptionId: sub.id, now: t.daysAgo(20) }));
      return u;
    },
  },
  {
    email: 'lifetime',
    name: 'Lifetime User',
    story: 'Lifetime plan since two months: this calendar month is due (grant job), older months expire',
    build: async (db, t, user) => {
      const u = await user(t.monthsAgo(2));
      await subscribe(db, u.id, 'lifetime', t.monthsAgo(2));
      await spend(db, u.id, 75, addUtcDays(t.monthsAgo(2), 2), 1);
      return u;
    },
  },
  {
    email: 'packs',
    name: 'Credit Pack Buyer',
    story: 'Free plan with a 500-credit pack (365 days) and a never-expiring 2 000-credit pack',
    build: async (db, t, user) => {
      const u = await user(t.monthsAgo(1));
      await must(
        'pack',
        purchaseCreditPack(db, { userId: u.id, packId: 'pack-500', purchaseId: `seed-pack-a-${u.id}`, now: t.daysAgo(25) }),
      );
      await must(
        'pack',
        purchaseCreditPack(db, { userId: u.id, packId: 'pack-2000', purchaseId: `seed-pack-b-${u.id}`, now: t.daysAgo(3) }),
      );
      await spend(db, u.id, 650, t.daysAgo(2), 1);
      return u;
    },
  },
  {
    email: 'adjusted',
    name: 'Adjusted User',
    story: "Free plan with an operator's goodwill grant expiring in 2 days and a deduction",
    build: async (db, t, user) => {
      const u = await user(t.daysAgo(15));
      const adjust = { userId: u.id, reason: 'demo: support goodwill', actor: 'seed' };
      await must(
        'adjust',
        adjustCredits(db, { ...adjust, delta: 300, validityDays: 3, idempotencyKey: `seed:adjust:${u.id}:1`, now: t.daysAgo(1) }),
      );
      await must(
        'adjust',
        adjustCredits(db, {
          ...adjust,
          delta: -25,
          reason: 'demo: chargeback',
          idempotencyKey: `seed:adjust:${u.id}:2`,
          now: t.daysAgo(1),
        }),
      );
      return u;
    },
  },
];

/**
 * Seeds the demo users (each through the real usecases, backdated) and returns who they are.
 * Nothing here runs a job: the jobs' work is left for the routes and `npm run jobs`.
 */
export async function seedDemoData(db: Database, params: SeedParams): Promise<{ users: number; seeded: SeededUser[] }> {
  const t = timeline(params.now);
  const seeded: SeededUser[] = [];
  for (const story of STORIES) {
    const email = `${story.email}${params.tag ? `+${params.tag}` : ''}@example.com`;
    const user = await story.build(db, t, (createdAt) => createUser(db, { email, name: story.name, emailVerified: true, now: createdAt }));
    seeded.push({ email, userId: user.id, story: story.story });
  }
  return { users: seeded.length, seeded };
}
