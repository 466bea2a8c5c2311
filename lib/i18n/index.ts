/**
 * People-facing text: one catalog per language (en.ts, fr.ts, the same keys), looked up by a key
 * that starts with the stable code (`SMTP_AUTH.refused`, `SMTP_AUTH.hint.gmail`), with named
 * `{parameters}`. Code builds a Text (key + parameters) and formats it late, in the locale asked
 * for, so an error made in one language can be given again in another.
 */
import type { en as English } from './en';
import type { fr as French } from './fr';
import { Locale, resolveLocale } from './locale';

export { defaultLocale, localeFromTag, resolveLocale, LOCALES } from './locale';
export type { Locale } from './locale';

/** A key of the catalogs. */
export type MessageKey = keyof typeof English;

/** A parameter: a value printed as is, a Text formatted in the same locale, or a list of them. */
export type Param = string | number | boolean | bigint | null | undefined | Text | TextList;

/** Named parameters of a Text. */
export type Params = Readonly<Record<string, Param>>;

/** A catalog entry with its parameters, formatted when it is shown. */
export interface Text {
  readonly key: MessageKey;
  readonly params: Params;
}

/** Several parameters shown one after another, with a separator. */
export interface TextList {
  readonly items: readonly Param[];
  readonly separator: string;
}

let english: typeof English | undefined;
let french: typeof French | undefined;

/**
 * A language's catalog, read on its first use: `require('oxymail')` reads none (a mailer that never
 * fails never formats a text), an English process never reads the French one.
 */
function catalog(locale: Locale): Record<MessageKey, string> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  if (locale === 'en') return (english ??= (require('./en') as { en: typeof English }).en);
  return (french ??= (require('./fr') as { fr: typeof French }).fr);
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** A catalog entry with its parameters (formatted later, in the locale of whoever shows it). */
export function text(key: MessageKey, params: Params = {}): Text {
  return { key, params };
}

/** Parameters shown one after the other (`, ` between them unless told). */
export function textList(items: readonly Param[], separator = ', '): TextList {
  return { items, separator };
}

/** True for a Text. */
export function isText(value: unknown): value is Text {
  return typeof value === 'object' && value !== null && typeof (value as Text).key === 'string' && typeof (value as Text).params === 'object';
}

function isList(value: unknown): value is TextList {
  return typeof value === 'object' && value !== null && Array.isArray((value as TextList).items);
}

function show(value: Param, locale: Locale): string {
  if (value === undefined || value === null) return '';
  if (isList(value)) return value.items.map((v) => show(v, locale)).join(value.separator);
  if (isText(value)) return format(value, locale);
  return String(value);
}

/** A Text (or a plain string, kept as is) in a locale (by default the process default). */
export function format(value: Text | string, locale?: string): string {
  if (typeof value === 'string') return value;
  const lang: Locale = locale === 'en' || locale === 'fr' ? locale : resolveLocale(locale);
  // Own keys only: a key read from a file ('constructor') names no template.
  const own = (c: Record<MessageKey, string>) => (Object.hasOwn(c, value.key) ? c[value.key] : undefined);
  const template = own(catalog(lang)) ?? own(catalog('en')) ?? String(value.key);
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in value.params ? show(value.params[name], lang) : whole));
}

/** A translator bound to one locale: `t('doctor.dns.ok.title', { host })`. */
export function translator(locale?: string): (key: MessageKey, params?: Params) => string {
  const lang = resolveLocale(locale);
  return (key, params = {}) => format(text(key, params), lang);
}

/** The raw catalogs (for the completeness test). */
export const catalogs: Readonly<Record<Locale, Readonly<Record<string, string>>>> = {
  get en() {
    return catalog('en');
  },
  get fr() {
    return catalog('fr');
  },
};
