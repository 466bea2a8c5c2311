/**
 * oxymail/nodemailer: transports for nodemailer's createTransport, so existing nodemailer code
 * sends through a user's oxymail settings, the Windows mail client (MAPI) included:
 *
 *   const transporter = nodemailer.createTransport(mapiTransport({ profile: 'Outlook' }));
 *   await transporter.sendMail({ to, subject, text, attachments });
 *
 * A transport is nodemailer's shape (name, version, send(mail, callback)); send maps nodemailer's
 * mail data to an oxymail message and goes through createMailer(...).send: validation, the
 * capability rule, the protocol. What oxymail cannot honour is an error, never silently dropped.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { MailError, Problem, problem, problemText } from './errors';
import { Text, text, textList } from './i18n';
import { createMailer, Mailer, MailerOptions, SendOptions } from './mailer';
import type { Attachment, MailMessage } from './message';
import type { SendResult } from './result';
import type { MapiSettings, SettingsInput } from './settings';
import { closest } from './suggest';

/** What nodemailer's callback gets for a send (its SentMessageInfo fields, and oxymail's own result). */
export interface OxymailSentInfo {
  messageId: string | null;
  envelope: { from: string | false; to: string[] };
  accepted: string[];
  rejected: string[];
  response: string;
  /** The whole oxymail result: protocol, receipts, warnings, savedToSent... */
  oxymail: SendResult;
}

/** The transport object nodemailer.createTransport() takes. */
export interface OxymailNodemailerTransport {
  readonly name: string;
  readonly version: string;
  /** The oxymail mailer behind it (its settings, protocol). (nodemailer sets `mailer` on a transport to its own object.) */
  readonly oxymail: Mailer;
  send(mail: { data: Record<string, unknown> }, callback: (err: Error | null, info?: OxymailSentInfo) => void): void;
  /** nodemailer's transporter.verify(): oxymail's verify(); a promise when no callback is given. */
  verify(callback?: (err: Error | null, success?: boolean) => void): Promise<boolean> | void;
  close(): void;
}

/** Options of a transport: the mailer's, and the send options every message gets. */
export interface TransportOptions extends MailerOptions {
  send?: Omit<SendOptions, 'signal'>;
}

/** Fields nodemailer itself puts in mail.data (transporter options copied in), not the caller's. */
const NODEMAILER_INTERNAL = new Set(['disableFileAccess', 'disableUrlAccess', 'normalizeHeaderKey', 'maxRecipients']);
/** Fields with the same name and meaning in nodemailer and oxymail. */
const SAME = ['to', 'cc', 'bcc', 'replyTo', 'inReplyTo', 'references', 'priority'];
/** oxymail's own message fields, accepted as they are (nodemailer passes unknown fields through). */
const OXYMAIL_ONLY = ['importance', 'readReceipt', 'deliveryReceipt', 'bulk', 'calendar', 'listUnsubscribe', 'listUnsubscribePost'];
const ATTACHMENT_KEYS = new Set(['filename', 'content', 'path', 'contentType', 'cid', 'encoding', 'contentDisposition']);

/**
 * nodemailer's mail data as an oxymail message (and the send's signal). `from` is not oxymail's to
 * choose: the user's settings decide the sender, so a `from` other than the user's address is refused.
 * Throws MailError (INVALID_MESSAGE, UNKNOWN_OPTION) naming every field it cannot take.
 */
export function fromNodemailer(data: Record<string, unknown>, userEmail?: string): { message: MailMessage; signal?: AbortSignal } {
  const problems: Problem[] = [];
  let unknown = false;
  const message: Record<string, unknown> = {};
  const bad = (p: string, why: Text | string) => problems.push(problem(p, why));
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined || NODEMAILER_INTERNAL.has(key) || key === 'signal') continue;
    if (SAME.includes(key) || OXYMAIL_ONLY.includes(key)) message[key] = value;
    else if (key === 'subject') message.subject = value;
    else if (key === 'text' || key === 'html') message[key] = Buffer.isBuffer(value) ? value.toString('utf8') : value;
    else if (key === 'from') checkFrom(value, userEmail, bad);
    else if (key === 'headers') {
      const headers = headerObject(value, bad);
      if (headers && Object.keys(headers).length) message.headers = headers;
    } else if (key === 'attachments') message.attachments = attachments(value, bad);
    else if (key === 'icalEvent') {
      const ev = value as { method?: string; content?: unknown };
      if (!ev || typeof ev.content !== 'string') bad('icalEvent', text('NODEMAILER.icalEvent'));
      else message.calendar = { content: ev.content, ...(ev.method ? { method: ev.method } : {}) };
    } else if (key === 'list') message.listUnsubscribe = listUnsubscribe(value, bad);
    else if (key === 'dsn') message.deliveryReceipt = dsn(value, bad);
    else {
      unknown = true;
      const guess = closest(key, [...SAME, ...OXYMAIL_ONLY, 'subject', 'text', 'html', 'from', 'headers', 'attachments', 'icalEvent', 'list', 'dsn']);
      bad(key, guess ? text('NODEMAILER.didYouMean', { guess }) : text('NODEMAILER.unsupported'));
    }
  }
  if (problems.length) {
    throw new MailError(
      unknown ? 'UNKNOWN_OPTION' : 'INVALID_MESSAGE',
      text('NODEMAILER', {
        list: textList(
          problems.map((p) => text('NODEMAILER.item', { path: p.path, message: problemText(p) })),
          '; ',
        ),
      }),
      {
        problems,
        hint: text('NODEMAILER.hint'),
      },
    );
  }
  return { message: message as MailMessage, signal: data.signal instanceof AbortSignal ? data.signal : undefined };
}

function checkFrom(value: unknown, userEmail: string | undefined, bad: (p: string, why: Text | string) => void): void {
  const list = Array.isArray(value) ? value : [value];
  const addresses = list
    .map((v) => (typeof v === 'string' ? (/<([^>]+)>\s*$/.exec(v)?.[1] ?? v) : (v as { address?: string })?.address))
    .map((a) => a?.trim().toLowerCase());
  if (userEmail && addresses.some((a) => a !== userEmail.toLowerCase())) {
    bad('from', text('NODEMAILER.from', { email: userEmail }));
  }
}

function headerObject(value: unknown, bad: (p: string, why: Text | string) => void): Record<string, string | string[]> | undefined {
  if (Array.isArray(value)) {
    const out: Record<string, string[]> = {};
    for (const h of value as { key?: unknown; value?: unknown }[]) {
      if (!h || typeof h.key !== 'string') return void bad('headers', text('NODEMAILER.headerArray'));
      (out[h.key] ??= []).push(h.value as string);
    }
    return out;
  }
  if (!value || typeof value !== 'object') return void bad('headers', text('NODEMAILER.headers'));
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(value)) {
    // nodemailer's { prepared: true, value } means "already encoded": oxymail validates and encodes itself.
    if (v && typeof v === 'object' && !Array.isArray(v)) bad(`headers.${k}`, text('NODEMAILER.headerValue'));
    else out[k] = v as string | string[];
  }
  return out;
}

function attachments(value: unknown, bad: (p: string, why: Text | string) => void): Attachment[] | undefined {
  if (!Array.isArray(value)) return void bad('attachments', text('INVALID_MESSAGE.array'));
  return value.map((a: Record<string, unknown>, i) => {
    const at = `attachments[${i}]`;
    if (!a || typeof a !== 'object') {
      bad(at, text('INVALID_SETTINGS.object'));
      return {};
    }
    for (const k of Object.keys(a)) if (a[k] !== undefined && !ATTACHMENT_KEYS.has(k)) bad(`${at}.${k}`, text('NODEMAILER.attachmentKey'));
    if (a.contentDisposition !== undefined && a.contentDisposition !== (a.cid ? 'inline' : 'attachment')) {
      bad(`${at}.contentDisposition`, text('NODEMAILER.disposition'));
    }
    let content = a.content as Attachment['content'];
    if (typeof content === 'string' && a.encoding !== undefined) {
      if (a.encoding === 'base64' || a.encoding === 'hex') content = Buffer.from(content, a.encoding);
      else if (a.encoding !== 'utf8' && a.encoding !== 'utf-8') bad(`${at}.encoding`, text('NODEMAILER.encoding'));
    }
    const out: Attachment = {};
    if (a.path !== undefined) {
      if (typeof a.path !== 'string' || /^(https?|data):/i.test(a.path)) bad(`${at}.path`, text('NODEMAILER.path'));
      out.path = a.path as string;
    }
    if (content !== undefined)
      out.content = content instanceof Readable || Buffer.isBuffer(content) || typeof content === 'string' ? content : (content as never);
    for (const k of ['filename', 'contentType', 'cid'] as const) if (a[k] !== undefined) out[k] = a[k] as string;
    if (out.filename === undefined && out.path === undefined && out.cid !== undefined) out.filename = out.cid;
    return out;
  });
}

function listUnsubscribe(value: unknown, bad: (p: string, why: Text | string) => void): string[] | undefined {
  const list = value as { unsubscribe?: unknown };
  if (!list || typeof list !== 'object' || Object.keys(list).some((k) => k !== 'unsubscribe')) return void bad('list', text('NODEMAILER.list'));
  const items = Array.isArray(list.unsubscribe) ? list.unsubscribe : [list.unsubscribe];
  return items.flat().map((u) => (typeof u === 'string' ? u : (u as { url?: string })?.url) as string);
}

function dsn(value: unknown, bad: (p: string, why: Text | string) => void): MailMessage['deliveryReceipt'] {
  const d = value as { id?: string; return?: string; notify?: string | string[]; recipient?: string };
  if (!d || typeof d !== 'object') return void bad('dsn', text('NODEMAILER.dsn'));
  if (d.recipient !== undefined) bad('dsn.recipient', text('NODEMAILER.orcpt'));
  const notify = (Array.isArray(d.notify) ? d.notify : d.notify ? String(d.notify).split(',') : ['success', 'failure']).map((n) => n.trim().toLowerCase());
  return { notify: notify as ('success' | 'failure' | 'delay')[], ret: d.return === 'full' ? 'full' : 'headers', ...(d.id ? { envelopeId: d.id } : {}) };
}

/** The package version, for the transport's `version`. */
function version(): string {
  return (JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
}

function transport(name: string, mailer: Mailer, sendOptions: Omit<SendOptions, 'signal'> = {}): OxymailNodemailerTransport {
  return {
    name,
    version: version(),
    oxymail: mailer,
    send(mail, callback) {
      let mapped: ReturnType<typeof fromNodemailer>;
      try {
        mapped = fromNodemailer(mail.data, mailer.settings.email);
      } catch (err) {
        return callback(err as Error);
      }
      mailer.send(mapped.message, { ...sendOptions, ...(mapped.signal ? { signal: mapped.signal } : {}) }).then(
        (result) =>
          callback(null, {
            messageId: result.messageId,
            envelope: { from: result.protocol === 'mapi' ? false : (mailer.settings.email ?? false), to: [...result.accepted, ...result.rejected] },
            accepted: result.accepted,
            rejected: result.rejected,
            response: `oxymail: sent by ${result.protocol}`,
            oxymail: result,
          }),
        (err: Error) => callback(err),
      );
    },
    verify(callback) {
      const verified = mailer.verify().then(() => true);
      if (!callback) return verified;
      verified.then(
        (ok) => callback(null, ok),
        (err: Error) => callback(err),
      );
    },
    close() {
      mailer.close();
    },
  };
}

/**
 * A nodemailer transport that sends with one user's oxymail settings, whatever their protocol
 * (the managed relay, SMTP, MAPI): `nodemailer.createTransport(oxymailTransport(settings))`.
 */
export function oxymailTransport(settings: SettingsInput, options: TransportOptions = {}): OxymailNodemailerTransport {
  const { send, ...mailerOptions } = options;
  return transport('oxymail', createMailer(settings, mailerOptions), send);
}

/**
 * A nodemailer transport that sends through the Windows mail client (MAPI):
 * `nodemailer.createTransport(mapiTransport({ profile: 'Outlook', interface: 'extended' }))`.
 * MAPI carries plain text: a message with text and HTML goes as text (HTML_DROPPED); headers,
 * threading and List-Unsubscribe are refused by the capability rule (or dropped with
 * `unsupported: 'warn'`); inline images (cid) go as ordinary attachments.
 */
export function mapiTransport(mapi: Partial<MapiSettings> = {}, options: TransportOptions = {}): OxymailNodemailerTransport {
  const { send, ...mailerOptions } = options;
  return transport('oxymail-mapi', createMailer({ customize: true, protocol: 'mapi', mapi }, mailerOptions), send);
}
