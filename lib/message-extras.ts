/**
 * The message fields a nodemailer user expects, validated before anything is sent: a Reply-To per
 * message, extra headers (never one oxymail writes itself), threading (In-Reply-To, References),
 * `priority` as nodemailer's name for importance, and List-Unsubscribe for bulk mail.
 */
import type { AddressField } from './message';
import { hasLineBreak, Mailbox, parseAddressField } from './address';
import type { Problem } from './errors';
import { Text, text } from './i18n';
import type { Importance } from './importance';

/** The fields, as MailMessage has them. */
export interface MessageExtras {
  /** Reply-To of this message, over smtp.replyTo (SMTP only: the managed relay forces the user's address, MAPI has none). */
  replyTo?: AddressField;
  /** Extra header fields (SMTP, managed). Header names oxymail writes itself (From, Subject, Importance...) are refused. */
  headers?: Record<string, string | string[]>;
  /** The Message-ID this message answers (`<id@domain>`, the brackets may be left out). */
  inReplyTo?: string;
  /** The Message-IDs of the thread, oldest first. */
  references?: string | string[];
  /** nodemailer's name for importance: 'high', 'normal' or 'low'. */
  priority?: 'high' | 'normal' | 'low';
  /** Bulk mail only: the List-Unsubscribe URIs (RFC 2369), `mailto:` or `https:`. */
  listUnsubscribe?: string | string[];
  /** Bulk mail only: one-click unsubscription (RFC 8058: `List-Unsubscribe-Post: List-Unsubscribe=One-Click`); needs an https URI. */
  listUnsubscribePost?: boolean;
}

/** The fields after validation. */
export interface NormalizedExtras {
  replyTo?: Mailbox[];
  headers: [string, string][];
  inReplyTo?: string;
  references: string[];
  listUnsubscribe: string[];
  listUnsubscribePost: boolean;
}

export const EXTRA_FIELDS = ['replyTo', 'headers', 'inReplyTo', 'references', 'priority', 'listUnsubscribe', 'listUnsubscribePost'];

/**
 * Headers oxymail (or nodemailer for it) writes from the message's own fields or owns for the
 * transport: set through `headers` they would contradict or duplicate them.
 */
export const OWNED_HEADERS = new Set(
  [
    'from',
    'sender',
    'to',
    'cc',
    'bcc',
    'reply-to',
    'subject',
    'date',
    'message-id',
    'in-reply-to',
    'references',
    'mime-version',
    'content-type',
    'content-transfer-encoding',
    'content-disposition',
    'content-id',
    'importance',
    'priority',
    'x-priority',
    'x-msmail-priority',
    'disposition-notification-to',
    'return-receipt-to',
    'return-path',
    'received',
    'list-unsubscribe',
    'list-unsubscribe-post',
    'dkim-signature',
  ].map((h) => h.toLowerCase()),
);

const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
const MESSAGE_ID = /^<?([^<>\s@]+@[^<>\s@]+)>?$/;
const PRIORITY: Record<string, Importance> = { high: 'high', normal: 'normal', low: 'low' };

type ProblemFn = (code: string, path: string, message: Text | string) => void;

/** Validates the extra fields; `importance` is the message's own, to check `priority` against. */
export function normalizeExtras(
  m: Record<string, unknown>,
  problems: Problem[],
  codes: Set<string>,
  problem: ProblemFn,
  bulk: boolean,
  importance: Importance | undefined,
): { extras: NormalizedExtras; importance?: Importance } {
  const extras: NormalizedExtras = { headers: [], references: [], listUnsubscribe: [], listUnsubscribePost: false };
  if (m.replyTo !== undefined) extras.replyTo = parseAddressField('replyTo', m.replyTo, problems, codes);

  if (m.headers !== undefined) {
    if (!m.headers || typeof m.headers !== 'object' || Array.isArray(m.headers)) problem('INVALID_MESSAGE', 'headers', text('INVALID_MESSAGE.headers'));
    else {
      for (const [name, raw] of Object.entries(m.headers)) {
        const at = `headers.${name}`;
        if (!FIELD_NAME.test(name)) problem('INVALID_MESSAGE', at, text('INVALID_MESSAGE.headerName'));
        else if (OWNED_HEADERS.has(name.toLowerCase())) {
          problem('INVALID_MESSAGE', at, text('INVALID_MESSAGE.ownedHeader'));
        } else {
          for (const value of Array.isArray(raw) ? raw : [raw]) {
            if (typeof value !== 'string') problem('INVALID_MESSAGE', at, text('INVALID_MESSAGE.stringOrArray'));
            else if (hasLineBreak(value)) problem('INVALID_MESSAGE', at, text('INVALID_MESSAGE.headerInjection'));
            else extras.headers.push([name, value]);
          }
        }
      }
    }
  }

  const messageIds = (name: string, value: unknown): string[] => {
    const list = Array.isArray(value) ? value : typeof value === 'string' ? value.trim().split(/\s+/).filter(Boolean) : [value];
    return list.flatMap((v) => {
      const id = typeof v === 'string' ? MESSAGE_ID.exec(v.trim()) : null;
      if (!id) {
        problem('INVALID_MESSAGE', name, text('INVALID_MESSAGE.messageIds'));
        return [];
      }
      return [`<${id[1]}>`];
    });
  };
  if (m.inReplyTo !== undefined) {
    const ids = messageIds('inReplyTo', m.inReplyTo);
    if (ids.length > 1) problem('INVALID_MESSAGE', 'inReplyTo', text('INVALID_MESSAGE.oneMessageId'));
    extras.inReplyTo = ids[0];
  }
  if (m.references !== undefined) extras.references = messageIds('references', m.references);

  let alias: Importance | undefined;
  if (m.priority !== undefined) {
    alias = typeof m.priority === 'string' ? PRIORITY[m.priority] : undefined;
    if (!alias) problem('INVALID_MESSAGE', 'priority', text('INVALID_MESSAGE.priority'));
    else if (importance !== undefined && importance !== alias)
      problem('INVALID_MESSAGE', 'priority', text('INVALID_MESSAGE.priorityConflict', { alias, importance }));
  }

  if (m.listUnsubscribe !== undefined || m.listUnsubscribePost !== undefined) {
    if (!bulk) problem('INVALID_MESSAGE', 'listUnsubscribe', text('INVALID_MESSAGE.bulkOnly'));
    const list = Array.isArray(m.listUnsubscribe) ? m.listUnsubscribe : m.listUnsubscribe === undefined ? [] : [m.listUnsubscribe];
    for (const [i, uri] of list.entries()) {
      if (typeof uri !== 'string' || hasLineBreak(uri) || !/^(mailto:[^\s<>]+|https?:\/\/[^\s<>]+)$/i.test(uri.trim())) {
        problem('INVALID_MESSAGE', `listUnsubscribe[${i}]`, text('INVALID_MESSAGE.unsubscribeUri'));
      } else extras.listUnsubscribe.push(uri.trim());
    }
    if (m.listUnsubscribePost !== undefined && typeof m.listUnsubscribePost !== 'boolean')
      problem('INVALID_MESSAGE', 'listUnsubscribePost', text('INVALID_SETTINGS.boolean'));
    extras.listUnsubscribePost = m.listUnsubscribePost === true;
    if (extras.listUnsubscribePost && !extras.listUnsubscribe.some((u) => /^https:/i.test(u))) {
      problem('INVALID_MESSAGE', 'listUnsubscribePost', text('INVALID_MESSAGE.oneClick'));
    }
  }
  return { extras, importance: importance ?? alias };
}
