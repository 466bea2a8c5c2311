/**
 * Which language people-facing text is in: French when the locale is French, English otherwise.
 * Read on each use (not cached at load), so a process that sets OXYMAIL_LANG later is followed.
 */

/** The languages oxymail has a catalog for. */
export type Locale = 'en' | 'fr';

/** The languages oxymail has a catalog for. */
export const LOCALES: readonly Locale[] = ['en', 'fr'];

/** `fr`, `fr-CA`, `fr_FR.UTF-8`, `fr_BE@euro` -> 'fr'; anything else (`C`, `POSIX`, `de_DE`, `en`) -> 'en'. */
export function localeFromTag(tag: string): Locale {
  return /^fr(?:$|[-_.@])/i.test(tag.trim()) ? 'fr' : 'en';
}

/**
 * The process default: OXYMAIL_LANG, else LC_ALL, LC_MESSAGES, LANG (the POSIX order for messages),
 * else on Windows (where those are rarely set) the UI language as Intl reports it; else English.
 * An empty variable counts as unset, as POSIX says.
 */
export function defaultLocale(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Locale {
  for (const name of ['OXYMAIL_LANG', 'LC_ALL', 'LC_MESSAGES', 'LANG']) {
    const value = env[name];
    if (value && value.trim()) return localeFromTag(value);
  }
  if (platform === 'win32') {
    try {
      return localeFromTag(new Intl.DateTimeFormat().resolvedOptions().locale);
    } catch {
      return 'en';
    }
  }
  return 'en';
}

/** An explicit locale (a mailer's `locale` option, `--lang`) or, when none is given, the process default. */
export function resolveLocale(explicit?: string): Locale {
  return explicit !== undefined && explicit.trim() ? localeFromTag(explicit) : defaultLocale();
}
