/**
 * Turns a validated message into nodemailer's mail options, for every path that speaks MIME
 * (SMTP, the managed relay, the local outbox). nodemailer does the MIME; this only decides
 * which headers and parts the message gets.
 */
import { randomUUID } from 'node:crypto';
import type { SendMailOptions } from 'nodemailer';
import { Mailbox } from '../address';
import type { Effective, Feature } from '../capabilities';
import { smtpImportanceHeaders } from '../importance';
import { htmlToTextModule } from '../lazy';
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

/** nodemailer mail options for a message; `dropped` features are left out. */
export function composeMail(msg: NormalizedMessage, id: Identity, eff: Effective, dropped: Set<Feature>): SendMailOptions {
  const html = dropped.has('html') ? undefined : msg.html;
  const text = msg.text ?? (msg.html !== undefined ? htmlToText(msg.html) : undefined);
  const headers: Record<string, string> = eff.importance ? smtpImportanceHeaders(eff.importance) : {};
  if (eff.readReceipt) headers['Disposition-Notification-To'] = `<${id.receiptsTo}>`;
  // Only what is set: nodemailer does work for every field it is given, even an empty one.
  const options: SendMailOptions = { from: id.from, subject: msg.subject, text: text ?? '' };
  if (id.replyTo) options.replyTo = id.replyTo;
  if (msg.to.length) options.to = msg.to;
  if (msg.cc.length) options.cc = msg.cc;
  if (msg.bcc.length) options.bcc = msg.bcc;
  if (html !== undefined) options.html = html;
  if (Object.keys(headers).length) options.headers = headers;
  if (msg.attachments.length) {
    options.attachments = msg.attachments.map((a) =>
      a.path !== undefined
        ? { path: a.path, filename: a.filename, contentType: a.contentType }
        : { content: a.content, filename: a.filename, contentType: a.contentType },
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
  return options;
}
