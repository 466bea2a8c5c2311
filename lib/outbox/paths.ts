/**
 * Where outboxes live: per user beside the settings store (`<store folder>/outbox/<user>`), and,
 * for a mailer made from settings alone, `<default store folder>/outbox/default`.
 */
import type * as Crypto from 'node:crypto';
import * as path from 'node:path';
import { lazy } from '../lazy';
import type { MailerOptions } from '../mailer';

// node:crypto is one of the costliest built-ins to load: only a user's outbox folder needs it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const crypto = lazy(() => require('node:crypto') as typeof Crypto);

/**
 * The folder name of a user's outbox: the id's safe characters, and a short hash of the id so
 * that ids differing only by case or by unsafe characters never share a folder (Windows folders
 * are case-insensitive). Never equal to 'default'.
 */
export function userFolderName(userId: string): string {
  const safe = userId
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 48);
  return `${safe}-${crypto().createHash('sha256').update(userId, 'utf8').digest('hex').slice(0, 8)}`;
}

/** A user's outbox beside the store. */
export function userOutboxDir(storePath: string, userId: string): string {
  return path.join(path.dirname(storePath), 'outbox', userFolderName(userId));
}

/** The outbox of a mailer made with `outbox: true` and no folder. */
export function defaultOutboxFolder(storePath: string): string {
  return path.join(path.dirname(storePath), 'outbox', 'default');
}

/**
 * The mailer options of a store user: the outbox (asked by the options, or by `outbox: true` in
 * the user's settings) in that user's own folder unless the options name one.
 */
export function userOutboxOption(storePath: string, userId: string, fromSettings: boolean | undefined, options: MailerOptions = {}): MailerOptions {
  const given = options.outbox ?? fromSettings;
  if (!given) return options;
  const dir = userOutboxDir(storePath, userId);
  return { ...options, outbox: given === true ? { dir } : { ...given, dir: given.dir ?? dir } };
}
