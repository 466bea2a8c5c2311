/**
 * The copy in Sent for SMTP and managed sending: the exact bytes that went out, APPENDed over
 * IMAP (imapflow, loaded only when a copy is made) with \Seen, into the folder flagged \Sent
 * (RFC 6154) or else the usual names. A copy never fails or repeats the send: a failure is a
 * SENT_COPY_FAILED warning, and the outbox keeps the message to make the copy later.
 */
import { promises as fs } from 'node:fs';
import { MailWarning, messageText, warning } from '../errors';
import { format, text, Text } from '../i18n';
import { isGmailHost, isLoopback, ImapSettings, UserMailSettings } from '../settings';
import type { ComposedMessage } from '../transports/transport';
import type { TokenSource } from '../oauth/token-source';

/** What a copy did. */
export interface SentCopyOutcome {
  /** True only when the server confirmed the APPEND (tagged OK). */
  saved: boolean;
  folder?: string;
  uid?: number;
  warning?: MailWarning;
}

/** Copies one sent message to Sent. */
export type SentCopier = (composed: ComposedMessage) => Promise<SentCopyOutcome>;

/** The IMAP account as the copy uses it: credentials resolved (the SMTP sign-in when imap has none). */
export interface ImapAccount extends Omit<ImapSettings, 'username' | 'password' | 'accessToken'> {
  username?: string;
  password?: string;
  accessToken?: string;
  /** The SMTP OAuth2 sign-in (smtp.oauth2 or the application's source): a fresh token per copy. */
  tokenSource?: TokenSource;
}

/**
 * Providers that put SMTP-submitted mail in Sent themselves, so a copy would be a duplicate:
 * Gmail (smtp.gmail.com, smtp.googlemail.com) and Microsoft 365 / Outlook.com
 * (smtp.office365.com, outlook.office365.com, smtp-mail.outlook.com). Decided by the SMTP host
 * name: custom domains hosted there that use these hosts are covered; a relay in front of them is not.
 */
export function filesSentItself(smtpHost: string | undefined): 'gmail' | 'microsoft365' | undefined {
  if (!smtpHost) return undefined;
  if (isGmailHost(smtpHost)) return 'gmail';
  if (/^(smtp\.office365\.com|outlook\.office365\.com|smtp-mail\.outlook\.com)$/i.test(smtpHost)) return 'microsoft365';
  return undefined;
}

/** The IMAP account of the settings: its own credentials, else the SMTP sign-in (same user, same password or token). */
export function imapAccount(settings: UserMailSettings, tokenSource?: TokenSource): ImapAccount | undefined {
  const imap = settings.imap;
  if (!imap?.host) return undefined;
  if (imap.username !== undefined) return { ...imap };
  if (tokenSource) return { ...imap, username: tokenSource.user, tokenSource };
  const smtp = settings.smtp;
  return { ...imap, username: smtp?.username, password: smtp?.password, accessToken: smtp?.accessToken };
}

/**
 * The copier for a user's settings, or undefined when no copy is to be made: sentCopy 'off'; no
 * IMAP account; or 'auto' with a provider that files sent mail itself.
 */
export function sentCopierFor(settings: UserMailSettings, smtpHost: string | undefined, tokenSource?: TokenSource): SentCopier | undefined {
  const mode = settings.sentCopy ?? 'auto';
  if (mode === 'off') return undefined;
  const account = imapAccount(settings, tokenSource);
  if (!account) return undefined;
  if (mode === 'auto' && filesSentItself(smtpHost)) return undefined;
  let folder: string | undefined;
  return async (composed) => {
    const outcome = await appendToSent(account, composed, folder);
    if (outcome.saved) folder = outcome.folder;
    return outcome;
  };
}

/** The names a Sent folder has when the server does not flag one \Sent, in the order tried. */
export const SENT_NAMES = ['Sent', 'Sent Items', 'Sent Messages', 'Éléments envoyés', 'Envoyés', 'INBOX.Sent', 'INBOX/Sent', 'INBOX.Sent Items'];

/** Picks the Sent folder from a LIST: SPECIAL-USE \Sent first, then the usual names (case-insensitive). */
export function pickSentFolder(list: { path: string; specialUse?: string; specialUseSource?: string }[]): string | undefined {
  const flagged = list.find((m) => m.specialUse === '\\Sent' && m.specialUseSource === 'extension');
  if (flagged) return flagged.path;
  for (const name of SENT_NAMES) {
    const found = list.find((m) => m.path.normalize('NFC').toLowerCase() === name.normalize('NFC').toLowerCase());
    if (found) return found.path;
  }
  return list.find((m) => m.specialUse === '\\Sent')?.path;
}

/** Server text without the password or token (a server may echo what it was sent). */
function redact(text: string, account: ImapAccount): string {
  let out = text;
  for (const secret of [account.password, account.accessToken]) {
    if (!secret) continue;
    for (const form of [secret, Buffer.from(secret).toString('base64')]) out = out.split(form).join('********');
  }
  // AUTHENTICATE PLAIN / XOAUTH2 payloads are base64 of the credentials.
  return out.replace(/(AUTHENTICATE\s+\S+\s+)\S+/gi, '$1********');
}

/** A Text whose parameters quote the server or an error, without the password or token. */
function redacted(what: Text | string, account: ImapAccount): Text | string {
  const shown = format(what);
  const safe = redact(shown, account);
  // A secret sits in a parameter, the same in every language: if redacting changes it, the safe string is what is kept.
  return safe === shown ? what : safe;
}

function failed(account: ImapAccount, what: Text | string, hint: Text): SentCopyOutcome {
  return {
    saved: false,
    warning: warning('SENT_COPY_FAILED', text('SENT_COPY_FAILED', { server: `${account.host}:${account.port}`, what: redacted(what, account), hint })),
  };
}

/**
 * APPENDs the message to the Sent folder (found, or `knownFolder` from an earlier copy) with
 * \Seen. imapflow takes the literal as one Buffer (its size is announced first), so the message
 * is read into memory for the APPEND; the SMTP send itself streamed it.
 */
export async function appendToSent(given: ImapAccount, composed: ComposedMessage, knownFolder?: string): Promise<SentCopyOutcome> {
  let account = given;
  if (given.tokenSource) {
    try {
      account = { ...given, accessToken: await given.tokenSource.getAccessToken() };
    } catch (err) {
      return failed(given, text('SENT_COPY_FAILED.noToken', { error: messageText(err) }), text('SENT_COPY_FAILED.hint.later'));
    }
  }
  // Lazily: imapflow (and its logger) is loaded only by a mailer that makes copies.
  const { ImapFlow } = require('imapflow') as typeof import('imapflow');
  const secure = account.security === 'tls' || (account.security === 'auto' && account.port === 993);
  const credentials = account.username !== undefined && (account.password !== undefined || account.accessToken !== undefined);
  const requireTls = account.security === 'starttls' || (account.security === 'auto' && credentials && !isLoopback(account.host) && !account.allowInsecureAuth);
  const client = new ImapFlow({
    host: account.host,
    port: account.port,
    secure,
    doSTARTTLS: secure ? undefined : account.security === 'none' ? false : requireTls ? true : undefined,
    auth: credentials
      ? account.accessToken !== undefined
        ? { user: account.username as string, accessToken: account.accessToken }
        : { user: account.username as string, pass: account.password }
      : undefined,
    tls: account.tls ? { ...account.tls } : undefined,
    logger: false,
    disableAutoIdle: true,
    ...(account.timeoutMs ? { connectionTimeout: account.timeoutMs, greetingTimeout: account.timeoutMs, socketTimeout: account.timeoutMs } : {}),
  } as ConstructorParameters<typeof ImapFlow>[0]);
  // A socket error after connect() must not become an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    try {
      await client.connect();
    } catch (err) {
      const e = err as { authenticationFailed?: boolean; responseText?: string; message?: string; code?: string };
      if (e.authenticationFailed) {
        return failed(account, text('SENT_COPY_FAILED.login', { reply: e.responseText ?? e.message }), text('SENT_COPY_FAILED.hint.login'));
      }
      return failed(account, text('SENT_COPY_FAILED.connect', { error: e.message ?? String(err) }), text('SENT_COPY_FAILED.hint.connect'));
    }
    let folder = account.sentFolder ?? knownFolder;
    if (!folder) {
      folder = pickSentFolder(await client.list());
      if (!folder) return failed(account, text('SENT_COPY_FAILED.noFolder'), text('SENT_COPY_FAILED.hint.folder'));
    }
    const bytes = composed.buffer ?? (await fs.readFile(composed.path as string));
    const r = await client.append(folder, bytes, ['\\Seen']);
    if (!r) return failed(account, text('SENT_COPY_FAILED.notConfirmed', { folder }), text('SENT_COPY_FAILED.hint.later'));
    return { saved: true, folder: r.destination ?? folder, uid: r.uid };
  } catch (err) {
    const e = err as { responseText?: string; message?: string };
    return failed(account, e.responseText ?? e.message ?? String(err), text('SENT_COPY_FAILED.hint.later'));
  } finally {
    await client.logout().catch(() => client.close());
  }
}
