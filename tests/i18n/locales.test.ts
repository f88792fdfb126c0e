import { describe, expect, it } from 'vitest';
import { rankLanguageTags, resolveLocales } from '@/i18n/locales';

describe('rankLanguageTags', () => {
  it.each([
    ['fr-CH, fr;q=0.9, en;q=0.8', ['fr-CH', 'fr', 'en']],
    ['en;q=0.5, de-DE', ['de-DE', 'en']],
    ['*;q=0.5, ja', ['ja']],
    ['zh-CN;q=0, en', ['en']],
    ['', []],
    [null, []],
  ])('Accept-Language %j → %j', (header, tags) => {
    expect(rankLanguageTags(header)).toEqual(tags);
  });
});

describe('resolveLocales', () => {
  it.each([
    // Without a cookie: the first language of Accept-Language we speak, formatted in the browser's variant of it.
    [{ acceptLanguage: 'zh-CN,zh;q=0.9,en;q=0.8' }, { locale: 'zh-CN', formatLocale: 'zh-CN' }],
    [{ acceptLanguage: 'en-GB,en;q=0.9' }, { locale: 'en', formatLocale: 'en-GB' }],
    [{ acceptLanguage: 'en-US' }, { locale: 'en', formatLocale: 'en-US' }],
    [{ acceptLanguage: 'fr-FR, zh;q=0.8' }, { locale: 'zh-CN', formatLocale: 'zh' }],
    // Traditional-script Chinese reads the Simplified pages, with Simplified Chinese dates.
    [{ acceptLanguage: 'zh-TW' }, { locale: 'zh-CN', formatLocale: 'zh-CN' }],
    // Nothing we speak, or nothing asked: English.
    [{ acceptLanguage: 'fr-FR, de;q=0.5' }, { locale: 'en', formatLocale: 'en' }],
    [{ acceptLanguage: 'not a tag!!' }, { locale: 'en', formatLocale: 'en' }],
    [{}, { locale: 'en', formatLocale: 'en' }],
    // The switcher's cookie wins over the browser; an unknown value in it is ignored.
    [
      { cookie: 'en', acceptLanguage: 'zh-CN' },
      { locale: 'en', formatLocale: 'en' },
    ],
    [
      { cookie: 'zh-CN', acceptLanguage: 'en-GB' },
      { locale: 'zh-CN', formatLocale: 'zh-CN' },
    ],
    [
      { cookie: 'en', acceptLanguage: 'zh-CN, en-AU;q=0.5' },
      { locale: 'en', formatLocale: 'en-AU' },
    ],
    [
      { cookie: 'klingon', acceptLanguage: 'zh-CN' },
      { locale: 'zh-CN', formatLocale: 'zh-CN' },
    ],
  ])('%j → %j', (request, expected) => {
    expect(resolveLocales(request)).toEqual(expected);
  });
});
