/**
 * Turns a validated message into nodemailer's mail options, for every path that speaks MIME
 * (SMTP, the managed relay, the local outbox). nodemailer does the MIME; this only decides
 * which headers and parts the message gets. composeMessage then builds the RFC 5322 bytes once:
 * what is sent, queued in the outbox and copied to Sent is that one message (same Message-ID).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SendMailOptions } from 'nodemailer';
import type MailMessage from 'nodemailer/lib/mailer/mail-message';
import { MailError } from '../errors';
import { Text, text } from '../i18n';
import { Mailbox } from '../address';
import type { Effective, Feature } from '../capabilities';
import type { ComposedMessage, DsnParams } from './transport';
import { smtpImportanceHeaders } from '../importance';
import { htmlToTextModule, lazy, mimeFuncs, nodemailer } from '../lazy';
import { NormalizedMessage } from '../message';

/** Who the message is from, as the protocol decides it. */
export interface Identity {
  from: Mailbox;
  replyTo?: Mailbox;
  /** Where read receipts go (Disposition-Notification-To). */
  receiptsTo: string;
}

export type { Effective };

/** Plain text from HTML, for the text alternative and for protocols that only carry text. */
export function htmlToText(html: string): string {
  return htmlToTextModule().convert(html, { wordwrap: 76 });
}

/** A fresh Message-ID in the sender's domain, as nodemailer would make it. */
export function newMessageId(fromAddress: string): string {
  const domain = fromAddress.slice(fromAddress.lastIndexOf('@') + 1) || 'localhost';
  return `<${randomUUID()}@${domain}>`;
}

/**
 * Every key nodemailer reads on mail options and on an attachment. An object literal inherits
 * from Object.prototype, so a key the code leaves unset would be read from a polluted prototype
 * (a `bcc` or `html` added to every message): each is set as an own property, undefined when
 * unused, which nodemailer reads as "not set".
 */
const MAIL_KEYS = [
  'from',
  'sender',
  'to',
  'cc',
  'bcc',
  'replyTo',
  'inReplyTo',
  'references',
  'subject',
  'text',
  'html',
  'watchHtml',
  'amp',
  'icalEvent',
  'headers',
  'attachments',
  'alternatives',
  'envelope',
  'messageId',
  'date',
  'encoding',
  'raw',
  'textEncoding',
  'priority',
  'list',
  'dsn',
  'dkim',
  'attachDataUrls',
  'keepBcc',
  'xMailer',
  'baseBoundary',
  'boundaryPrefix',
  'normalizeHeaderKey',
  'disableFileAccess',
  'disableUrlAccess',
  'newline',
  'signal',
  'maxRecipients',
  'requireTLSExtensionEnabled',
  'sendingZone',
  'ses',
  'defaults',
  'hostname',
] as const;
const PART_KEYS = [
  'content',
  'path',
  'href',
  'httpHeaders',
  'raw',
  'filename',
  'cid',
  'contentType',
  'contentDisposition',
  'contentTransferEncoding',
  'encoding',
  'headers',
  'related',
  'method',
] as const;

/** Transporter defaults with nothing inherited to copy into messages (see the composer below). */
export const NO_DEFAULTS = Object.freeze({ headers: Object.freeze({}) }) as unknown as SendMailOptions;

/** `o` with every key of `keys` as an own property (undefined when unset). */
export function withOwnKeys<T extends object>(o: T, keys: readonly string[]): T {
  for (const key of keys) if (!Object.hasOwn(o, key)) (o as Record<string, unknown>)[key] = undefined;
  return o;
}

/**
 * nodemailer builds object literals of its own for each MIME part and reads part keys from them
 * (`headers`, `encoding`, `path`...): no option of ours can shadow those. When some other code in
 * the process has put one of them on Object.prototype, composing would carry it into the message
 * (a header, a file read from disk): nothing is sent instead.
 */
export function refuseGadgets(keys: readonly string[] = ['headers', ...PART_KEYS], why: Text | string = text('INTERNAL.why.message')): void {
  const polluted = keys.filter((key) => Object.hasOwn(Object.prototype, key));
  if (polluted.length) {
    throw new MailError('INTERNAL', text('INTERNAL.pollution', { keys: polluted.map((k) => `'${k}'`).join(', '), why }), {
      hint: text('INTERNAL.hint.pollution', { key: polluted[0] }),
    });
  }
}

/** Every key of MAIL_KEYS, undefined: copied as a whole (one shape), cheaper than key by key per send. */
const UNSET_MAIL = Object.freeze(Object.fromEntries(MAIL_KEYS.map((k) => [k, undefined])));
/** Not contentTransferEncoding: nodemailer tests it with `in`, so an own undefined would turn off its base64 default (and line endings of a text attachment would change). refuseGadgets() covers a polluted one. */
const SHADOWED_PART_KEYS = PART_KEYS.filter((k) => k !== 'contentTransferEncoding');

/** A copy of mail options safe from a polluted Object.prototype (see MAIL_KEYS); URLs are never fetched. */
export function ownMailOptions(o: SendMailOptions): SendMailOptions {
  const own: SendMailOptions = Object.assign({ ...UNSET_MAIL }, o, { disableUrlAccess: true });
  for (const a of own.attachments ?? []) withOwnKeys(a, SHADOWED_PART_KEYS);
  if (own.icalEvent && typeof own.icalEvent === 'object') withOwnKeys(own.icalEvent, SHADOWED_PART_KEYS);
  return own;
}

/** A subject with a run of more than 76 non-blank characters cannot be folded: sent as encoded words, each line within 998. */
function foldableSubject(subject: string): string {
  return /\S{77,}/.test(subject) ? mimeFuncs().encodeWords(subject, 'Q', 52, true) : subject;
}

/** A text part given as a string is sent as UTF-8: its content type says so (else readers assume US-ASCII). */
function attachmentType(a: NormalizedMessage['attachments'][number]): string | undefined {
  if (typeof a.content !== 'string') return a.contentType;
  const type = a.contentType ?? mimeFuncs().detectMimeType(a.filename);
  return /^text\//i.test(type) && !/;\s*charset=/i.test(type) ? `${type}; charset=utf-8` : type;
}

/** nodemailer mail options for a message; `dropped` features are left out. */
export function composeMail(msg: NormalizedMessage, id: Identity, eff: Effective, dropped: Set<Feature>): SendMailOptions {
  const html = dropped.has('html') ? undefined : msg.html;
  const text = msg.text ?? (msg.html !== undefined ? htmlToText(msg.html) : undefined);
  const headers: Record<string, string> = eff.importance ? smtpImportanceHeaders(eff.importance) : {};
  if (eff.readReceipt) headers['Disposition-Notification-To'] = `<${id.receiptsTo}>`;
  // Only what is set: nodemailer does work for every field it is given, even an empty one.
  // The Message-ID is ours, so that a failure (delivery unknown above all) can name the message.
  const options: SendMailOptions = { from: id.from, subject: foldableSubject(msg.subject), text: text ?? '', messageId: newMessageId(id.from.address) };
  // A Reply-To of the message itself wins over smtp.replyTo (the capability rule keeps it off the managed relay).
  if (msg.replyTo?.length && !dropped.has('replyTo')) options.replyTo = msg.replyTo;
  else if (id.replyTo) options.replyTo = id.replyTo;
  if (msg.to.length) options.to = msg.to;
  if (msg.cc.length) options.cc = msg.cc;
  if (msg.bcc.length) options.bcc = msg.bcc;
  if (html !== undefined) options.html = html;
  if (!dropped.has('listUnsubscribe') && msg.listUnsubscribe.length) {
    headers['List-Unsubscribe'] = msg.listUnsubscribe.map((u) => `<${u}>`).join(', ');
    if (msg.listUnsubscribePost) headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  // Extra headers never share a name with oxymail's own (validateMessage refuses those).
  const extra: { key: string; value: string }[] = dropped.has('headers') ? [] : msg.headers.map(([key, value]) => ({ key, value }));
  if (Object.keys(headers).length || extra.length) options.headers = [...Object.entries(headers).map(([key, value]) => ({ key, value })), ...extra];
  if (msg.inReplyTo && !dropped.has('inReplyTo')) options.inReplyTo = msg.inReplyTo;
  if (msg.references.length && !dropped.has('references')) options.references = msg.references;
  if (msg.attachments.length) {
    options.attachments = msg.attachments.map((a) =>
      a.path !== undefined
        ? { path: a.path, filename: a.filename, contentType: a.contentType, ...(a.cid ? { cid: a.cid } : {}) }
        : { content: a.content, filename: a.filename, contentType: attachmentType(a), ...(a.cid ? { cid: a.cid } : {}) },
    );
  }
  if (msg.calendar && !dropped.has('calendar')) options.icalEvent = { method: msg.calendar.method, content: msg.calendar.content };
  if (eff.deliveryReceipt) {
    options.dsn = {
      id: eff.deliveryReceipt.envelopeId ?? randomUUID().replace(/-/g, ''),
      return: eff.deliveryReceipt.ret === 'full' ? 'full' : 'headers',
      notify: eff.deliveryReceipt.notify.map((n) => n.toUpperCase()),
    };
  }
  return ownMailOptions(options);
}

// Types of the transport shape (transport.ts), re-exported: public declarations must not reach nodemailer's types.
export type { ComposedMessage, DsnParams };

/** A fresh stream of the message's bytes. */
export function openComposed(c: Pick<ComposedMessage, 'buffer' | 'path'>): Readable {
  if (c.buffer) return Readable.from([c.buffer]);
  if (c.path) return createReadStream(c.path);
  throw new TypeError('composed message has neither bytes nor a file');
}

/**
 * A nodemailer transport that only composes: the same pipeline as its SMTP transport (Bcc kept out
 * of the headers, unlike its stream transport), handing back the message stream and the envelope.
 */
const streamer = lazy(() =>
  nodemailer().createTransport(
    {
      name: 'oxymail-compose',
      version: '1',
      send(mail: MailMessage, done: (err: Error | null, info: unknown) => void) {
        const message = mail.message;
        done(null, { envelope: message.getEnvelope(), messageId: message.messageId(), message: message.createReadStream() });
      },
    },
    // nodemailer copies `defaults.headers` into every message: an own, empty one, so that a
    // `headers` on a polluted Object.prototype is not read instead.
    NO_DEFAULTS,
  ),
);

/**
 * Builds the RFC 5322 bytes of nodemailer mail options. Without attachments the message is held in
 * memory; with attachments it is streamed into a private temp file (never read whole), under
 * `dir` when given (the outbox's own tmp folder, so queuing is a rename) else the system temp.
 *
 * `signal` ends composing (the send's deadline, the caller's abort, `mailer.close()`): an
 * attachment stream that never ends cannot hold a send. The streams are destroyed (the caller's
 * attachment streams included), the temp file is removed, and the promise rejects with the
 * signal's reason once that is done.
 */
export async function composeMessage(mail: SendMailOptions, dir?: string, signal?: AbortSignal): Promise<ComposedMessage> {
  refuseGadgets();
  signal?.throwIfAborted();
  const dsn = mail.dsn as DsnParams | undefined;
  let info: { envelope: { from: string | false; to: string[] }; messageId: string; message: Readable };
  // The caller's attachment streams: nodemailer reads them but never destroys them.
  const ended = () => {
    for (const a of mail.attachments ?? []) {
      const content = a.content as Readable | undefined;
      if (content && typeof content.destroy === 'function' && typeof content.pipe === 'function') content.destroy();
    }
  };
  const stop = () => ended();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    try {
      info = (await abortable(streamer().sendMail(mail), signal)) as unknown as typeof info;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw composeError(err, mail);
    }
    const envelope = { from: info.envelope.from || '', to: [...info.envelope.to] };
    if (!mail.attachments?.length) {
      let buffer: Buffer;
      try {
        buffer = await collect(info.message, signal);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        throw composeError(err, mail);
      }
      return { messageId: info.messageId, envelope, dsn, size: buffer.length, buffer, dispose: async () => undefined };
    }
    const folder = dir ? (await fs.mkdir(dir, { recursive: true }), dir) : os.tmpdir();
    const temp = await fs.mkdtemp(path.join(folder, 'compose-'));
    const file = path.join(temp, 'message.eml');
    const dispose = () => fs.rm(temp, { recursive: true, force: true });
    let size = 0;
    try {
      const counter = new PassThrough();
      counter.on('data', (c: Buffer) => (size += c.length));
      await pipeline(info.message, counter, createWriteStream(file, { flags: 'wx', mode: 0o600 }), { signal });
    } catch (err) {
      await dispose();
      if (signal?.aborted) throw signal.reason;
      const at = (err as NodeJS.ErrnoException)?.path;
      if (typeof at === 'string' && at.startsWith(temp)) {
        throw new MailError('OUTBOX_WRITE', text('OUTBOX_WRITE.temp', { temp, error: (err as Error).message }), {
          cause: err,
          hint: text('OUTBOX_WRITE.hint.temp'),
        });
      }
      throw composeError(err, mail);
    }
    if (signal?.aborted) {
      // Ended just as the last byte was written: nothing is sent, so nothing is kept.
      await dispose();
      throw signal.reason;
    }
    return { messageId: info.messageId, envelope, dsn, size, path: file, dispose };
  } catch (err) {
    // Whatever failed, the caller's attachment streams are not left open half-read.
    ended();
    throw err;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

/**
 * The bytes of a message stream, read as they come (a message without attachments is in memory
 * already: a stream pipeline per send would cost more than the reading). `signal` destroys the
 * stream and rejects with its reason.
 */
function collect(stream: Readable, signal?: AbortSignal): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      stream.destroy();
      reject(signal?.reason);
    };
    const settle = (err: Error | null) => {
      signal?.removeEventListener('abort', stop);
      stream.off('data', onData);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
    };
    if (signal?.aborted) return stop();
    signal?.addEventListener('abort', stop, { once: true });
    stream.on('data', onData);
    stream.once('end', () => settle(null));
    stream.once('error', (err) => settle(err));
    // Destroyed by someone else before its end: no bytes will come.
    stream.once('close', () => {
      if (!stream.readableEnded) settle(new Error('the message stream closed before its end'));
    });
  });
}

/** `work`, or a rejection with the signal's reason as soon as it aborts. */
function abortable<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}

function composeError(err: unknown, mail: SendMailOptions): MailError {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT' || e?.code === 'EACCES' || e?.code === 'EISDIR' || e?.code === 'EPERM') {
    return new MailError('ATTACHMENT_NOT_FOUND', text('ATTACHMENT_NOT_FOUND.composing', { error: e.message }), {
      cause: err,
      hint: text('ATTACHMENT_NOT_FOUND.hint'),
    });
  }
  // Any other failure while reading (an I/O error, a stream given as content that fails) is the
  // attachment's, not the message's shape.
  const streamed = mail.attachments?.some((a) => a.path !== undefined || (a.content && typeof (a.content as Readable).pipe === 'function'));
  if (streamed && !(err instanceof TypeError)) {
    return new MailError('ATTACHMENT_UNREADABLE', text('ATTACHMENT_UNREADABLE.composing', { error: e?.message ?? String(err) }), {
      cause: err,
      hint: text('ATTACHMENT_UNREADABLE.hint'),
    });
  }
  return new MailError('INVALID_MESSAGE', text('INVALID_MESSAGE.compose', { error: e?.message ?? String(err) }), { cause: err });
}
