/**
 * The one table of oxymail error codes, and the error class every failure is raised as.
 *
 * A code is a stable string that programs can switch on; the message names the operation and,
 * where there is one, the API that failed; `hint` tells a person what to do about it. Message and
 * hint come from the catalogs (lib/i18n): made in the process default locale, and given again in
 * another one by `localize(locale)` (a mailer created with `{ locale }` does it for what it throws).
 */
import { format, Locale, resolveLocale, Text, text, textList } from './i18n';

/** Every stable code oxymail raises, with what it means. */
export const ERROR_CODES = {
  INVALID_SETTINGS: 'the user settings are invalid or contradict each other',
  INVALID_MESSAGE: 'the message is malformed (CR/LF in a header value, wrong field type, unknown field)',
  INVALID_ADDRESS: 'an address is not a valid e-mail address',
  NO_RECIPIENTS: 'the message has no recipient',
  ATTACHMENT_NOT_FOUND: 'an attachment file does not exist or cannot be read',
  ATTACHMENT_UNREADABLE: 'an attachment could not be read while the message was being sent (nothing was delivered)',
  MESSAGE_TOO_LARGE: 'a field of the message is over the sane upper bound oxymail sets (header, body, attachment count)',
  UNKNOWN_OPTION: 'an option name is not known',
  INVALID_OPTION: 'an option has a value it cannot take',
  UNSUPPORTED_OPTION: 'the chosen protocol cannot honour an option set explicitly',
  ABORTED: 'the send was aborted by its AbortSignal',
  MAILER_CLOSED: 'the mailer was closed while the send was pending; nothing was sent',
  MANAGED_NOT_CONNECTED: 'managed sending is selected but no relay is configured',
  MANAGED_BULK_FORBIDDEN: 'bulk (CRM) sending is refused by the managed relay',
  SMTP_AUTH: 'the SMTP server refused the login',
  SMTP_CONNECTION: 'the SMTP server could not be reached or closed the connection',
  SMTP_TIMEOUT: 'the SMTP server did not answer in time (or the send went over its overall deadline)',
  SMTP_DELIVERY_UNKNOWN: 'the connection ended after the whole message was sent and before the server answered: the server may have it (never retried)',
  SMTP_STARTTLS_REQUIRED: 'the SMTP server wants STARTTLS before login or mail, and the settings turn TLS off',
  SMTP_TLS: 'TLS could not be negotiated with the SMTP server',
  SMTP_REJECTED: 'the SMTP server refused every recipient (or the sender)',
  SMTP_MESSAGE_REJECTED: 'the SMTP server refused the message itself',
  SMTP_MESSAGE_TOO_LARGE: "the message is larger than the SMTP server's advertised SIZE limit (nothing was uploaded)",
  SMTP_UTF8_UNSUPPORTED: 'an address has a non-ASCII local part and the SMTP server does not offer SMTPUTF8',
  SMTP_PROTOCOL: 'the SMTP server answered something unexpected',
  OAUTH_SIGNIN_REQUIRED: 'no OAuth2 sign-in yet, or the provider says the grant is invalid, expired or revoked: nothing was sent',
  OAUTH_UNREACHABLE: 'the OAuth2 provider could not be reached (network, DNS, TLS, or an answer that is not OAuth2)',
  OAUTH_CONSENT_REQUIRED: 'the user or the tenant administrator has not consented to the application and its scopes',
  OAUTH_WRONG_TENANT: 'the account or the application does not belong to the configured tenant',
  OAUTH_CLIENT: 'the provider refuses the application registration (unknown client id, not a public client, redirect URI)',
  OAUTH_SIGNIN_DENIED: 'the person signing in declined the request',
  OAUTH_SIGNIN_EXPIRED: 'the sign-in was not completed in time (the device code expired)',
  OAUTH_PROVIDER: 'the OAuth2 provider answered with another error',
  MAPI_UNAVAILABLE: 'MAPI cannot be used on this platform or the native addon is missing',
  MAPI_BITNESS_MISMATCH: "the mail client's MAPI DLL is 32-bit and this process 64-bit (or the reverse): MAPI was not called",
  MAPI_ANSI_UNREPRESENTABLE: 'an ANSI-only mail client would get a changed path, address or profile name: nothing was sent',
  OUTBOX_WRITE: 'the message could not be written to the local outbox',
  OUTBOX_NOT_FOUND: 'no outbox entry has this id (or the prefix matches several)',
  OUTBOX_BUSY: 'another process is sending this outbox entry right now',
  OUTBOX_DISABLED: 'the mailer has no outbox (createMailer option outbox, or outbox: true in the settings)',
  SETTINGS_LOCKED: 'another process holds the settings file lock',
  SETTINGS_NOT_FOUND: 'no settings are stored for this user',
  USAGE: 'the command line was used wrongly (CLI only: exit code 2, in --json output)',
  SECRET_UNREADABLE: 'a stored secret cannot be decrypted (another Windows user or machine)',
  STORE_ACCESS: 'the settings store cannot be used: a symlink or not a regular file, no permission, a folder, a full disk',
  INTERNAL: 'an unexpected failure inside oxymail (a bug: please report it with the message)',
} as const;

/** A stable oxymail error code (MAPI return codes add `MAPI_*` codes, see mapi-codes.ts). */
export type ErrorCode = keyof typeof ERROR_CODES | `MAPI_${string}`;

/** The protocols a message can travel by. */
export type Protocol = 'managed' | 'smtp' | 'mapi';

/** Extra fields a MailError may carry. */
export interface MailErrorDetails {
  protocol?: Protocol;
  /** What a person can do: a catalog Text (preferred) or a string shown as is. */
  hint?: string | Text;
  responseCode?: number;
  mapiCode?: number;
  permanent?: boolean;
  cause?: unknown;
  /** For INVALID_SETTINGS / INVALID_MESSAGE: every problem found, with its field path. */
  problems?: Problem[];
  /**
   * SMTP_DELIVERY_UNKNOWN: the whole message (final "." included) was sent and no reply came. The
   * server may have it: never send it again without checking.
   */
  deliveryUnknown?: boolean;
  /** The Message-ID of the message the failure concerns, when it was composed. */
  messageId?: string;
  /** Per-recipient refusals the server gave before the send failed (all recipients refused: SMTP_REJECTED). */
  rejectedDetails?: RejectedRecipient[];
}

/** One recipient the server refused, and whether the refusal was permanent (5xx) or temporary (4xx). */
export interface RejectedRecipient {
  address: string;
  responseCode?: number;
  permanent: boolean;
}

/** One problem found while validating, with the dotted path of the field at fault. */
export interface Problem {
  path: string;
  message: string;
  hint?: string;
}

/** The Texts behind a localized value (an error, a problem, a warning): kept out of sight of inspect and JSON. */
const TEXTS = new WeakMap<object, { message: Text | string; hint?: Text | string }>();

function localeOf(locale: string): Locale {
  return resolveLocale(locale);
}

/** A validation problem whose message (and hint) come from the catalogs. */
export function problem(path: string, message: Text | string, hint?: Text | string): Problem {
  const p: Problem = { path, message: format(message) };
  if (hint !== undefined) p.hint = format(hint);
  TEXTS.set(p, { message, hint });
  return p;
}

/** The same problem in another locale (a problem made from plain strings stays as it is). */
export function localizeProblem(p: Problem, locale: string): Problem {
  const t = TEXTS.get(p);
  if (!t) return p;
  const lang = localeOf(locale);
  const out: Problem = { ...p, message: format(t.message, lang) };
  if (t.hint !== undefined) out.hint = format(t.hint, lang);
  TEXTS.set(out, t);
  return out;
}

/** The same problem under another path (its Texts kept, so it can still be localized). */
export function problemAt(p: Problem, path: string): Problem {
  const t = TEXTS.get(p);
  const out: Problem = { ...p, path };
  if (t) TEXTS.set(out, t);
  return out;
}

/** The hint of a problem as a Text when it has one (its string otherwise). */
export function problemHint(p: Problem): Text | string | undefined {
  return TEXTS.get(p)?.hint ?? p.hint;
}

/** The Text of a problem's message (its string when it was made without one). */
export function problemText(p: Problem): Text | string {
  return TEXTS.get(p)?.message ?? p.message;
}

/** The error every oxymail failure is raised as. */
export class MailError extends Error {
  readonly code: ErrorCode;
  readonly protocol?: Protocol;
  readonly hint?: string;
  readonly responseCode?: number;
  readonly mapiCode?: number;
  readonly permanent?: boolean;
  readonly problems?: Problem[];
  readonly deliveryUnknown?: boolean;
  readonly messageId?: string;
  readonly rejectedDetails?: RejectedRecipient[];

  /** `message` and `details.hint`: catalog Texts (`text(key, params)`), shown in the process default locale. */
  constructor(code: ErrorCode, message: string | Text, details: MailErrorDetails = {}) {
    super(format(message), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MailError';
    this.code = code;
    const keys = ['protocol', 'responseCode', 'mapiCode', 'permanent', 'problems', 'deliveryUnknown', 'messageId', 'rejectedDetails'] as const;
    for (const key of keys) {
      if (details[key] !== undefined) (this as Record<string, unknown>)[key] = details[key];
    }
    if (details.hint !== undefined) (this as { hint?: string }).hint = format(details.hint);
    TEXTS.set(this, { message, hint: details.hint });
  }

  /** Gives message, hint and problems again in `locale` ('fr', 'fr-CA', 'en'...); the code and every other field stay. */
  localize(locale: string): this {
    const t = TEXTS.get(this);
    if (!t) return this;
    const lang = localeOf(locale);
    const before = this.message;
    this.message = format(t.message, lang);
    const head = `${this.name}: ${before}`;
    if (typeof this.stack === 'string' && this.stack.startsWith(head)) this.stack = `${this.name}: ${this.message}${this.stack.slice(head.length)}`;
    if (t.hint !== undefined) (this as { hint?: string }).hint = format(t.hint, lang);
    if (this.problems) (this as { problems?: Problem[] }).problems = this.problems.map((p) => localizeProblem(p, lang));
    return this;
  }
}

/** A MailError given again in `locale`; anything else returned as it is. */
export function localizeError<T>(err: T, locale: string): T {
  if (err instanceof MailError) err.localize(locale);
  return err;
}

/** `what:` then one `  - path: message` line per problem, as a Text. */
export function problemsText(what: string | Text, problems: Problem[]): Text {
  const lines = problems.map((p) => text('problems.line', { path: p.path, message: problemText(p) }));
  return text('problems.list', { what, list: textList(lines, '\n') });
}

/**
 * Any thrown value as a MailError: a MailError as is; a TypeError (an argument mistake) as
 * INVALID_OPTION; a file-system error as STORE_ACCESS-like INTERNAL with its errno; anything else
 * as INTERNAL. For the CLI's output and the last line of defence in send().
 */
export function asMailError(err: unknown, what = 'oxymail'): MailError {
  if (err instanceof MailError) return err;
  const message = (err as Error)?.message ?? String(err);
  if (err instanceof TypeError) {
    return new MailError('INVALID_OPTION', text('INVALID_OPTION.typeError', { what, message }), { cause: err, hint: text('INVALID_OPTION.hint.typeError') });
  }
  const errno = (err as NodeJS.ErrnoException)?.code;
  return new MailError('INTERNAL', typeof errno === 'string' ? text('INTERNAL.errno', { what, errno, message }) : text('INTERNAL', { what, message }), {
    cause: err,
    hint: text('INTERNAL.hint'),
  });
}

/** Raises the error for a list of validation problems, naming every one of them. */
export function failWithProblems(code: 'INVALID_SETTINGS' | 'INVALID_MESSAGE', what: string | Text, problems: Problem[]): never {
  const hints = problems.filter((p) => p.hint).map((p) => TEXTS.get(p)?.hint ?? p.hint);
  throw new MailError(code, problemsText(what, problems), {
    problems,
    hint: hints.length ? text('problems.hints', { hints: textList(hints, ' ') }) : undefined,
  });
}

/** Every warning code a SendResult, a verify() result or validateSettings may carry. */
export const WARNING_CODES = {
  OPTION_DROPPED: "an option the protocol cannot honour was dropped (a settings default, or unsupported: 'warn')",
  HTML_CONVERTED: 'an HTML-only body was converted to plain text (MAPI)',
  INLINE_ATTACHED: 'MAPI: an inline image (attachment with a cid) went as an ordinary attachment',
  HTML_DROPPED: 'the HTML body was left out and the text body sent (MAPI: plain text only)',
  DELIVERY_RECEIPT_UNSUPPORTED: 'the SMTP server does not offer DSN: no delivery receipt will come',
  RECIPIENTS_REJECTED: 'the server refused some recipients; the others got the message',
  MESSAGE_QUEUED: 'the message could not be sent yet (a temporary failure): it is in the outbox and will be retried',
  SENT_COPY_FAILED: 'the message was sent, but its copy in the Sent folder (IMAP) could not be made yet',
  RECIPIENTS_DEFERRED: 'the server refused some recipients for now (4xx): send to them again later',
  DELIVERY_RECEIPT_TO_RELAY: "managed mode: delivery receipts (DSN) go to the suite's relay address, not to the user",
  MAPI_ANSI: 'the mail client has no Unicode MAPI: text outside the Windows code page may be lost',
  TEMP_CLEANUP_FAILED: 'the temp copies of in-memory attachments could not be removed after a MAPI send',
  TLS_ON_STARTTLS_PORT: "security 'tls' on a port where servers usually expect STARTTLS",
  GMAIL_APP_PASSWORD: 'a Gmail password that does not look like an app password',
} as const;

/** A stable warning code. */
export type WarningCode = keyof typeof WARNING_CODES;

/** A warning attached to a SendResult or a verify() result. */
export interface MailWarning {
  code: WarningCode;
  message: string;
}

/** A warning whose message comes from the catalogs (shown in the process default locale). */
export function warning(code: WarningCode, message: Text | string): MailWarning {
  const w: MailWarning = { code, message: format(message) };
  TEXTS.set(w, { message });
  return w;
}

/** The same warning in another locale (one made from a plain string stays as it is). */
export function localizeWarning(w: MailWarning, locale: string): MailWarning {
  const t = TEXTS.get(w);
  if (!t) return w;
  const out: MailWarning = { ...w, message: format(t.message, localeOf(locale)) };
  TEXTS.set(out, t);
  return out;
}

/**
 * The catalog Text behind an error's or a warning's message (its string when it was made from
 * one, or when it is not an oxymail error), to quote it in another Text that is localized with it.
 */
export function messageText(value: unknown): Text | string {
  const t = typeof value === 'object' && value !== null ? TEXTS.get(value) : undefined;
  if (t) return t.message;
  return (value as Error)?.message ?? String(value);
}

/** Gives an error a new message Text (its hint and every other field kept), so that localize() still works. */
export function rephrase(err: MailError, message: Text): MailError {
  const t = TEXTS.get(err);
  const before = err.message;
  err.message = format(message);
  const head = `${err.name}: ${before}`;
  if (typeof err.stack === 'string' && err.stack.startsWith(head)) err.stack = `${err.name}: ${err.message}${err.stack.slice(head.length)}`;
  TEXTS.set(err, { message, hint: t?.hint ?? err.hint });
  return err;
}
