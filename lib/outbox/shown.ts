/**
 * The catalog Texts behind the outbox's people-facing strings: an entry's `reason`, an attempt's
 * `message`, a flush result's `error.message`. The string is made in the process default locale;
 * the Text is kept out of sight (JSON, inspect) so that a mailer with a `locale` gives it again in
 * its language, and it is stored with the entry (`reasonText`, `messageText` in entry.json) so that
 * `oxymail outbox show` in French shows French reasons for an entry queued by an English process.
 */
import { catalogs, format, isText, Param, Text } from '../i18n';
import type { OutboxEntry } from './store';

const TEXTS = new WeakMap<object, Text>();

/** Shows `value` (in the process default locale) and remembers its Text for `holder`. */
export function remember(holder: object, value: Text | string): string {
  if (typeof value === 'string') {
    TEXTS.delete(holder);
    return value;
  }
  TEXTS.set(holder, value);
  return format(value);
}

/** Forgets the Text of `holder` (its string was removed). */
export function forget(holder: object): void {
  TEXTS.delete(holder);
}

/** The Text remembered for `holder`, if any. */
export function textOf(holder: object): Text | undefined {
  return TEXTS.get(holder);
}

/** Keeps the Text of `from` for `to` (a copy of the same object). */
export function carry<T extends object>(from: object, to: T): T {
  const t = TEXTS.get(from);
  if (t) TEXTS.set(to, t);
  return to;
}

/** The remembered Text of `holder` in `locale`, else `shown` as it is. */
export function shownIn(holder: object, shown: string | undefined, locale: string): string | undefined {
  const t = TEXTS.get(holder);
  return t ? format(t, locale) : shown;
}

/** A Text as JSON can hold it (a bigint parameter becomes its digits). */
export function storable(t: Text): Text {
  const param = (p: Param): Param => {
    if (typeof p === 'bigint') return String(p);
    if (isText(p)) return storable(p);
    if (typeof p === 'object' && p !== null && Array.isArray(p.items)) return { items: p.items.map(param), separator: String(p.separator) };
    return p;
  };
  return { key: t.key, params: Object.fromEntries(Object.entries(t.params).map(([k, v]) => [k, param(v)])) };
}

/**
 * A Text read back from entry.json, or undefined when it is not one this version knows (written by
 * another version, or edited by hand): the stored string is shown then.
 */
export function readText(value: unknown, depth = 0): Text | undefined {
  if (depth > 8 || !isText(value) || !Object.hasOwn(catalogs.en, value.key)) return undefined;
  for (const p of Object.values(value.params)) {
    if (p === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof p)) continue;
    if (isText(p)) {
      if (!readText(p, depth + 1)) return undefined;
      continue;
    }
    const list = p as { items?: unknown; separator?: unknown };
    if (typeof p !== 'object' || !Array.isArray(list.items) || typeof list.separator !== 'string') return undefined;
    if (list.items.some((item) => typeof item === 'object' && item !== null && !readText(item, depth + 1))) return undefined;
  }
  return value;
}

/** An entry with its reason and attempt messages given again in `locale` (the stored Texts; the strings otherwise). */
export function localizeEntry(entry: OutboxEntry, locale: string): OutboxEntry {
  const attempts = entry.attempts.map((a) => carry(a, a.message === undefined ? { ...a } : { ...a, message: shownIn(a, a.message, locale) }));
  const out = carry(entry, { ...entry, attempts });
  if (entry.reason !== undefined) out.reason = shownIn(entry, entry.reason, locale);
  return out;
}

/** A flush result's error given again in `locale`. */
export function localizeFacts<T extends { message: string }>(facts: T, locale: string): T {
  return carry(facts, { ...facts, message: shownIn(facts, facts.message, locale) ?? facts.message });
}
