/**
 * The catalogs: the same keys and the same {parameters} in every language, every key the sources
 * use exists (read from lib/, so a key typed in a new call site without its entry fails here), and
 * the locale rule (OXYMAIL_LANG, LC_ALL, LC_MESSAGES, LANG, then Windows' UI language).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { catalogs, defaultLocale, format, localeFromTag, text } from '../../lib/i18n';
import { failWithProblems, localizeWarning, MailError, problem, warning } from '../../lib/errors';
import { capabilities, Feature, noteKey, ProtocolKey } from '../../lib/capabilities';

const LIB = path.join(__dirname, '..', '..', 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? sources(file) : file.endsWith('.ts') ? [file] : [];
  });
}

const placeholders = (s: string) => [...new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();

test('en and fr have the same keys, and each entry the same placeholders', () => {
  const en = catalogs.en;
  const fr = catalogs.fr;
  expect(Object.keys(fr).sort()).toEqual(Object.keys(en).sort());
  const mismatched = Object.keys(en).filter((k) => placeholders(en[k]).join() !== placeholders(fr[k]).join());
  expect(mismatched).toEqual([]);
  const empty = Object.keys(en).filter((k) => !en[k].trim() || !fr[k].trim());
  expect(empty).toEqual([]);
});

test('every catalog key used in lib/ exists, and every key is used', () => {
  const files = sources(LIB).filter((f) => !path.relative(LIB, f).startsWith(`i18n${path.sep}`));
  const code = files.map((f) => readFileSync(f, 'utf8')).join('\n');
  // text('KEY', ...) builds a Text; t('KEY', ...) formats at once (a translator); key('KEY') names one for later.
  const used = new Set([...code.matchAll(/\b(?:text|t|key)\(\s*'([A-Za-z][\w.-]*)'/g)].map((m) => m[1]));
  expect(used.size).toBeGreaterThan(0);
  expect([...used].filter((k) => !(k in catalogs.en))).toEqual([]);
  // Keys chosen by a condition (text(cond ? 'A.b' : 'A', ...)) appear quoted; matrix notes go through noteKey() (tested below).
  const quoted = new Set([...code.matchAll(/'([A-Za-z][\w-]*(?:\.[\w-]+)+|[A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]));
  const unused = Object.keys(catalogs.en).filter((k) => !used.has(k) && !quoted.has(k) && !k.startsWith('capability.'));
  expect(unused).toEqual([]);
});

test('French punctuation: a space before : ; ? ! in the French texts (not inside a placeholder, a URL or a command)', () => {
  const bad = Object.entries(catalogs.fr).filter(([, s]) =>
    /[A-Za-zÀ-ÿ0-9)»][;?!](\s|$)/.test(s.replace(/\{[^}]*\}/g, 'X').replace(/; charset=/g, ' charset=')),
  );
  expect(bad.map(([k]) => k)).toEqual([]);
});

test('locale tags: fr* is French, anything else English', () => {
  for (const tag of ['fr', 'FR', 'fr-CA', 'fr_FR.UTF-8', 'fr_BE@euro', ' fr-fr ']) expect(localeFromTag(tag)).toBe('fr');
  for (const tag of ['en', 'en_US.UTF-8', 'C', 'POSIX', 'C.UTF-8', 'de_DE', 'fra', 'french', 'frisian']) expect(localeFromTag(tag)).toBe('en');
});

test('the default locale: OXYMAIL_LANG, then LC_ALL, LC_MESSAGES, LANG (empty = unset), then Intl on Windows only', () => {
  expect(defaultLocale({ OXYMAIL_LANG: 'fr', LC_ALL: 'en_US.UTF-8' }, 'linux')).toBe('fr');
  expect(defaultLocale({ OXYMAIL_LANG: 'en', LANG: 'fr_FR.UTF-8' }, 'linux')).toBe('en');
  expect(defaultLocale({ OXYMAIL_LANG: '', LC_ALL: 'fr_FR.UTF-8', LANG: 'en_US' }, 'linux')).toBe('fr');
  expect(defaultLocale({ LC_ALL: 'C', LANG: 'fr_FR.UTF-8' }, 'linux')).toBe('en');
  expect(defaultLocale({ LC_MESSAGES: 'fr_CA.UTF-8', LANG: 'en_US' }, 'linux')).toBe('fr');
  expect(defaultLocale({ LANG: 'fr_FR.UTF-8' }, 'linux')).toBe('fr');
  expect(defaultLocale({}, 'linux')).toBe('en');
  // On Windows the UI language, as Intl reports it for this process (ICU's default locale).
  expect(defaultLocale({}, 'win32')).toBe(localeFromTag(new Intl.DateTimeFormat().resolvedOptions().locale));
  expect(defaultLocale({ LANG: 'en_US' }, 'win32')).toBe('en');
});

test('a Text is formatted late: nested Texts and lists in the same locale, unknown placeholders kept', () => {
  const t = text('problems.list', { what: 'X', list: text('problems.line', { path: 'a.b', message: 'm' }) });
  expect(format(t, 'en')).toBe('X:\n  - a.b: m');
  expect(format(t, 'fr')).toBe('X :\n  - a.b : m');
  expect(format('plain', 'fr')).toBe('plain');
});

test('MailError: message and hint in the process default locale, localize() gives them again (code, stack, problems follow)', () => {
  const err = new MailError('INVALID_SETTINGS', text('problems.line', { path: 'p', message: 'm' }), { hint: text('problems.hints', { hints: 'h' }) });
  expect(err.message).toBe('  - p: m');
  expect(err.localize('fr-CA')).toBe(err);
  expect(err.message).toBe('  - p : m');
  expect(err.stack?.split('\n')[0]).toBe('MailError:   - p : m');
  expect(err.code).toBe('INVALID_SETTINGS');
  expect(err.hint).toBe('h');
  const plain = new MailError('USAGE', 'as is');
  expect(plain.localize('fr').message).toBe('as is');

  let thrown: MailError | undefined;
  try {
    failWithProblems('INVALID_SETTINGS', 'Invalid', [problem('x', text('problems.line', { path: 'y', message: 'z' })), { path: 'w', message: 'plain' }]);
  } catch (e) {
    thrown = e as MailError;
  }
  expect(thrown?.message).toBe('Invalid:\n  - x:   - y: z\n  - w: plain');
  thrown?.localize('fr');
  expect(thrown?.message).toBe('Invalid :\n  - x :   - y : z\n  - w : plain');
  expect(thrown?.problems).toEqual([
    { path: 'x', message: '  - y : z' },
    { path: 'w', message: 'plain' },
  ]);
  // The Texts stay out of sight: nothing but the documented fields in JSON.
  expect(JSON.parse(JSON.stringify(thrown))).toEqual({ name: 'MailError', code: 'INVALID_SETTINGS', problems: thrown?.problems });

  const w = warning('OPTION_DROPPED', text('problems.line', { path: 'p', message: 'm' }));
  expect(w).toEqual({ code: 'OPTION_DROPPED', message: '  - p: m' });
  expect(localizeWarning(w, 'fr')).toEqual({ code: 'OPTION_DROPPED', message: '  - p : m' });
  expect(localizeWarning({ code: 'OPTION_DROPPED', message: 'plain' }, 'fr').message).toBe('plain');
});

test('every note of the capability matrix has its catalog entry (capability.<protocol>.<feature>)', () => {
  const matrix = capabilities();
  const notes = Object.entries(matrix).flatMap(([protocol, features]) =>
    Object.entries(features)
      .filter(([, c]) => c.note)
      .map(([feature, c]) => ({ key: noteKey(protocol as ProtocolKey, feature as Feature), note: c.note })),
  );
  expect(notes.length).toBeGreaterThan(5);
  // The English entry is the matrix's own note: one text, two places that must agree.
  expect(notes.filter(({ key, note }) => catalogs.en[key] !== note)).toEqual([]);
});
