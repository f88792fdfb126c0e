import { describe, expect, it } from 'vitest';
import { addUtcMonths, periodIndexAt, startOfNextUtcMonth, utcMonthKey } from '@/lib/server/credits/time';

const iso = (d: Date) => d.toISOString();

describe('UTC month arithmetic', () => {
  it.each([
    ['2025-01-31T09:00:00.000Z', 1, '2025-02-28T09:00:00.000Z'],
    ['2025-01-31T09:00:00.000Z', 2, '2025-03-31T09:00:00.000Z'],
    ['2025-01-31T09:00:00.000Z', 3, '2025-04-30T09:00:00.000Z'],
    ['2024-01-31T00:00:00.000Z', 1, '2024-02-29T00:00:00.000Z'],
    ['2025-11-30T23:59:59.999Z', 3, '2026-02-28T23:59:59.999Z'],
    ['2025-12-15T00:00:00.000Z', 12, '2026-12-15T00:00:00.000Z'],
  ])('%s plus %i months is %s', (from, months, expected) => {
    expect(iso(addUtcMonths(new Date(from), months))).toBe(expected);
  });

  it('counts periods from the anchor, so an anchor on the 31st returns to the 31st after a short month', () => {
    const anchor = new Date('2025-01-31T00:00:00Z');
    expect([1, 2, 3, 4].map((n) => iso(addUtcMonths(anchor, n)).slice(0, 10))).toEqual([
      '2025-02-28',
      '2025-03-31',
      '2025-04-30',
      '2025-05-31',
    ]);
  });

  it('finds the billing period containing a date', () => {
    const anchor = new Date('2025-01-31T00:00:00Z');
    expect(periodIndexAt(anchor, new Date('2025-01-30T00:00:00Z'))).toBe(-1);
    expect(periodIndexAt(anchor, anchor)).toBe(0);
    expect(periodIndexAt(anchor, new Date('2025-02-27T23:59:59Z'))).toBe(0);
    expect(periodIndexAt(anchor, new Date('2025-02-28T00:00:00Z'))).toBe(1);
    expect(periodIndexAt(anchor, new Date('2025-03-30T00:00:00Z'))).toBe(1);
    expect(periodIndexAt(anchor, new Date('2025-03-31T00:00:00Z'))).toBe(2);
  });

  it('names months and their ends in UTC whatever the hour', () => {
    const lateOnNewYearsEve = new Date('2025-12-31T23:30:00Z');
    expect(utcMonthKey(lateOnNewYearsEve)).toBe('2025-12');
    expect(iso(startOfNextUtcMonth(lateOnNewYearsEve))).toBe('2026-01-01T00:00:00.000Z');
  });
});
