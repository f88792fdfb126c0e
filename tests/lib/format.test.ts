import { describe, expect, it } from 'vitest';
import { createFormatters } from '@/lib/format';

describe('createFormatters', () => {
  it('shows UTC instants in UTC, labelled, whatever the locale', () => {
    const midnight = new Date('2026-07-01T00:00:00Z');
    expect(createFormatters('en-US').dateTime(midnight)).toMatch(/^Jul 1, 2026.*12:00\sAM UTC$/);
    expect(createFormatters('de-DE').dateTime(midnight)).toMatch(/^01\.07\.2026.*00:00 UTC$/);
    expect(createFormatters('en-US').credits(1_140)).toBe('1,140');
    expect(createFormatters('zh-CN').dateTime(midnight)).toMatch(/^2026年7月1日 00:00 UTC$/);
  });
});
