import { describe, expect, it } from 'vitest';
import { createFormatters, pickLocale } from '@/lib/format';

describe('pickLocale', () => {
  it.each([
    ['fr-CH, fr;q=0.9, en;q=0.8', 'fr-CH'],
    ['en;q=0.5, de-DE', 'de-DE'],
    ['*;q=0.5, ja', 'ja'],
    ['not a tag!!, es', 'es'],
    ['', 'en-US'],
    [null, 'en-US'],
  ])('Accept-Language %j → %s', (header, locale) => {
    expect(pickLocale(header)).toBe(locale);
  });
});

describe('createFormatters', () => {
  it('shows UTC instants in UTC, labelled, whatever the locale', () => {
    const midnight = new Date('2026-07-01T00:00:00Z');
    expect(createFormatters('en-US').dateTime(midnight)).toMatch(/^Jul 1, 2026.*12:00\sAM UTC$/);
    expect(createFormatters('de-DE').dateTime(midnight)).toMatch(/^01\.07\.2026.*00:00 UTC$/);
    expect(createFormatters('en-US').credits(1_140)).toBe('1,140');
  });
});
