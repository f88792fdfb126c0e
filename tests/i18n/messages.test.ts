import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createTranslator, type Messages } from 'next-intl';
import { describe, expect, it } from 'vitest';
import { defaultLocale, locales } from '@/i18n/locales';

// English is the reference (its keys are the type of every t() call); every other language must have
// exactly its keys, and each of its messages must format with the arguments the code passes to English.
type Tree = { [key: string]: string | Tree };

const load = (locale: string): Tree => JSON.parse(readFileSync(path.resolve(import.meta.dirname, `../../messages/${locale}.json`), 'utf8'));
const leaves = (tree: Tree, prefix = ''): [string, string][] =>
  Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'string' ? [[`${prefix}${key}`, value] as [string, string]] : leaves(value, `${prefix}${key}.`),
  );

const english = new Map(leaves(load(defaultLocale)));
const others = locales.filter((locale) => locale !== defaultLocale);

/** The arguments of an ICU message (`{count, plural, …}`, `{date}`) and its rich-text tags (`<link>`). */
const argumentsOf = (message: string) => new Set([...message.matchAll(/\{\s*([A-Za-z]\w*)\s*[,}]/g)].map((m) => m[1]!));
const tagsOf = (message: string) => new Set([...message.matchAll(/<([A-Za-z]\w*)>/g)].map((m) => m[1]!));

/** Values for every argument of the English message: a number where English formats one, else a word. */
function sampleValues(message: string): Record<string, string | number | ((chunks: string) => string)> {
  const values: Record<string, string | number | ((chunks: string) => string)> = {};
  for (const name of argumentsOf(message)) {
    values[name] = new RegExp(`\\{\\s*${name}\\s*,\\s*(plural|number|selectordinal)`).test(message) ? 2 : 'word';
  }
  for (const tag of tagsOf(message)) values[tag] = (chunks) => `[${chunks}]`;
  return values;
}

describe('messages', () => {
  it('English has messages (the reference is not empty)', () => {
    expect(english.size).toBeGreaterThan(100);
  });

  it.each(others)('%s has exactly the keys of English', (locale) => {
    const keys = leaves(load(locale)).map(([key]) => key);
    expect(keys.filter((key) => !english.has(key))).toEqual([]);
    expect([...english.keys()].filter((key) => !keys.includes(key))).toEqual([]);
  });

  it.each(others)('%s uses only the arguments and tags English gives its messages', (locale) => {
    const mismatches = leaves(load(locale)).filter(([key, message]) => {
      const reference = english.get(key)!;
      const extraArgument = [...argumentsOf(message)].some((name) => !argumentsOf(reference).has(name));
      const sameTags = [...tagsOf(message)].sort().join() === [...tagsOf(reference)].sort().join();
      return extraArgument || !sameTags;
    });
    expect(mismatches.map(([key]) => key)).toEqual([]);
  });

  it.each(locales)('every %s message formats with the values the code passes, with no fallback to its key', (locale) => {
    const messages = load(locale) as unknown as Messages;
    const t = createTranslator({
      locale,
      messages,
      timeZone: 'UTC',
      onError: (error) => {
        throw error;
      },
    });
    for (const [key, reference] of english) {
      const text = t.markup(key as never, sampleValues(reference) as never);
      expect(text, key).not.toBe(key);
      expect(text, key).not.toMatch(/[{}]/);
    }
  });

  it('plurals are plurals, not concatenation: 1 credit, 2 credits in English; no plural forms in Chinese', () => {
    const en = createTranslator({ locale: 'en', messages: load('en') as unknown as Messages });
    const zh = createTranslator({ locale: 'zh-CN', messages: load('zh-CN') as unknown as Messages });
    expect(en('header.balance', { count: 1 })).toBe('1 credit');
    expect(en('header.balance', { count: 1234 })).toBe('1,234 credits');
    expect(zh('header.balance', { count: 1234 })).toBe('1,234 积分');
    expect(en('credits.expiry.within30Days', { count: 0 })).toBe('Nothing expires in the next 30 days.');
  });
});
