import { describe, expect, it } from 'vitest';
import { createScheduler, type Clock } from '../../scripts/lib/scheduler';

// How the scheduler reads a cron expression (croner, in UTC), beyond the daily schedules of vercel.json.
const clockAt = (iso: string): Clock => ({ now: () => new Date(iso), setTimer: () => () => {} });
const next = (schedule: string, from: string) =>
  createScheduler({
    entries: [{ name: 'job', path: '/api/job', schedule }],
    clock: clockAt(from),
    call: async () => ({ ok: true, status: 200, hasMore: false, summary: '' }),
  })
    .upcoming()[0]!
    .next?.toISOString();

describe('the scheduler reads cron expressions as Vixie cron and Vercel Cron do', () => {
  it.each([
    // A day of month and a day of week both given: either one matches (2026-11-23 is a Monday, before the 1st).
    ['0 1 1 * MON', '2026-11-22T12:00:00Z', '2026-11-23T01:00:00.000Z'],
    ['0 1 1 * MON', '2026-11-30T12:00:00Z', '2026-12-01T01:00:00.000Z'],
    // Times are UTC whatever the machine's zone; a time that has just passed today is tomorrow's.
    ['0 2 * * *', '2026-03-29T02:00:00Z', '2026-03-30T02:00:00.000Z'],
    ['0 * * * *', '2026-03-29T00:59:59Z', '2026-03-29T01:00:00.000Z'],
    // The 31st only in months that have one.
    ['0 4 31 * *', '2026-04-01T00:00:00Z', '2026-05-31T04:00:00.000Z'],
  ])('%s after %s → %s', (schedule, from, expected) => {
    expect(next(schedule, from)).toBe(expected);
  });
});
