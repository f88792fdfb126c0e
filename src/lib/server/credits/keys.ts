import { utcDateKey, utcMonthKey } from './time';

// Idempotency keys, exactly as the contract names them. The jobs build the same strings in SQL
// (see grant-monthly-credits.ts and process-due-schedules.ts): keep both in step.
export const creditKeys = {
  signup: (userId: string) => `signup:${userId}`,
  free: (userId: string, month: Date) => `free:${userId}:${utcMonthKey(month)}`,
  subscriptionPeriod: (subscriptionId: string, periodStart: Date) => `subscription:${subscriptionId}:${utcDateKey(periodStart)}`,
  lifetimeMonth: (subscriptionId: string, month: Date) => `lifetime:${subscriptionId}:${utcMonthKey(month)}`,
  installment: (scheduleId: string, n: number) => `schedule:${scheduleId}:${n}`,
  purchase: (purchaseId: string) => `purchase:${purchaseId}`,
};
