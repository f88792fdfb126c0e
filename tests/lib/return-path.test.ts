import { describe, expect, it } from 'vitest';
import { safeReturnPath } from '@/lib/return-path';

describe('safeReturnPath: after signing in, only a page of this site', () => {
  it.each([
    ['/pricing', '/pricing'],
    ['/billing?tab=payments#refunds', '/billing?tab=payments#refunds'],
    ['/checkout/../billing', '/billing'],
  ])('keeps the path %s', (value, expected) => {
    expect(safeReturnPath(value)).toBe(expected);
  });

  it.each([
    ['another site', 'https://evil.example/pricing'],
    ['a protocol-relative URL', '//evil.example'],
    ['a backslash the browser reads as a slash', '/\\evil.example'],
    ['a tab inside the slashes', '/\t/evil.example'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a relative path', 'pricing'],
    ['nothing', undefined],
    ['a repeated parameter', ['/a', '/b']],
    ['an oversized value', `/${'a'.repeat(600)}`],
  ])('refuses %s and returns the credits page', (_what, value) => {
    expect(safeReturnPath(value)).toBe('/credits');
  });
});
