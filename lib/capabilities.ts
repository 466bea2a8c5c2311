/**
 * The capability matrix: which option each protocol honours. It is data, returned as is by
 * `capabilities()`, and the one place `send()` checks a request against.
 */
import { MailError, MailWarning, Problem, problem, Protocol, warning } from './errors';
import { MessageKey, Text, text, textList } from './i18n';
import type { Importance } from './importance';
import type { NormalizedMessage } from './message';
import type { UserMailSettings } from './settings';

/** A column of the matrix: the managed relay, SMTP, and the two MAPI interfaces. */
export type ProtocolKey = 'managed' | 'smtp' | 'mapi-simple' | 'mapi-extended';

/** The options the matrix has a row for. */
export const FEATURES = [
  'to',
  'cc',
  'bcc',
  'attachments',
  'html',
  'calendar',
  'importance',
  'readReceipt',
  'deliveryReceipt',
  'senderName',
  'replyTo',
  'headers',
  'inReplyTo',
  'references',
  'listUnsubscribe',
  'dialog',
  'savedToSent',
  'bulk',
] as const;

/** One row name of the matrix. */
export type Feature = (typeof FEATURES)[number];

/** One cell: whether the protocol honours the option, and how when it is not plain yes/no. */
export interface Capability {
  supported: boolean;
  note?: string;
}

const yes: Capability = { supported: true };
const no: Capability = { supported: false };

/** The matrix, protocol by protocol (the README shows the same table). */
const MATRIX: Record<ProtocolKey, Record<Feature, Capability>> = {
  managed: {
    to: yes,
    cc: yes,
    bcc: yes,
    attachments: yes,
    html: yes,
    calendar: yes,
    importance: yes,
    readReceipt: { supported: true, note: "Disposition-Notification-To is the user's address, not the envelope sender: readers' clients may ask first" },
    deliveryReceipt: {
      supported: true,
      note: "to the relay: the DSN is requested, but the reports reach the relay's address, not the user (receipts.delivery: 'to-relay')",
    },
    senderName: { supported: false, note: 'the relay assigns the sender address; the display name is the user label' },
    replyTo: { supported: false, note: "Reply-To is always the user's e-mail address" },
    headers: yes,
    inReplyTo: yes,
    references: yes,
    listUnsubscribe: { supported: false, note: 'bulk (CRM) sending is refused in managed mode' },
    dialog: no,
    savedToSent: { supported: true, note: "with the user's IMAP account (imap settings): the exact message, \\Seen, in the \\Sent folder" },
    bulk: { supported: false, note: 'bulk (CRM) sending is refused in managed mode' },
  },
  smtp: {
    to: yes,
    cc: yes,
    bcc: yes,
    attachments: yes,
    html: yes,
    calendar: yes,
    importance: yes,
    readReceipt: yes,
    deliveryReceipt: { supported: true, note: 'DSN, only when the server advertises it' },
    senderName: yes,
    replyTo: yes,
    headers: yes,
    inReplyTo: yes,
    references: yes,
    listUnsubscribe: yes,
    dialog: no,
    savedToSent: {
      supported: true,
      note: "with an IMAP account (imap settings): the exact message, \\Seen, in the \\Sent folder; sentCopy 'auto' skips Gmail and Microsoft 365, which file it themselves",
    },
    bulk: yes,
  },
  'mapi-simple': {
    to: yes,
    cc: yes,
    bcc: yes,
    attachments: yes,
    html: { supported: false, note: 'plain-text body only' },
    calendar: no,
    importance: no,
    readReceipt: yes,
    deliveryReceipt: no,
    senderName: { supported: false, note: "the mail client's account is the sender" },
    replyTo: no,
    headers: { supported: false, note: 'the mail client writes the headers' },
    inReplyTo: no,
    references: no,
    listUnsubscribe: no,
    dialog: { supported: true, note: "shows the mail client's compose window" },
    savedToSent: { supported: true, note: 'the mail client keeps a copy in its Sent Items' },
    bulk: yes,
  },
  'mapi-extended': {
    to: yes,
    cc: yes,
    bcc: yes,
    attachments: yes,
    html: { supported: false, note: 'plain-text body only' },
    calendar: no,
    importance: { supported: true, note: 'three levels: low, normal, high' },
    readReceipt: yes,
    deliveryReceipt: yes,
    senderName: { supported: false, note: "the profile's account is the sender" },
    replyTo: no,
    headers: { supported: false, note: 'the mail client writes the headers' },
    inReplyTo: no,
    references: no,
    listUnsubscribe: no,
    dialog: no,
    savedToSent: yes,
    bulk: yes,
  },
};

/** The whole matrix, or one protocol's column; a deep copy the caller may keep. */
export function capabilities(): Record<ProtocolKey, Record<Feature, Capability>>;
export function capabilities(protocol: ProtocolKey): Record<Feature, Capability>;
export function capabilities(protocol?: ProtocolKey) {
  if (protocol === undefined) return structuredClone(MATRIX);
  if (!(protocol in MATRIX)) {
    throw new MailError('INVALID_OPTION', text('INVALID_OPTION.capabilities', { protocol: String(protocol), expected: Object.keys(MATRIX).join(', ') }));
  }
  return structuredClone(MATRIX[protocol]);
}

/** The catalog key of a matrix note (`capability.mapi-simple.html`): every note has one (test/unit/i18n.test.ts). */
export function noteKey(protocol: ProtocolKey, feature: Feature): MessageKey {
  return `capability.${protocol}.${feature}` as MessageKey;
}

/** True when `protocol` honours `feature`. */
export function supports(protocol: ProtocolKey, feature: Feature): boolean {
  return MATRIX[protocol][feature].supported;
}

/**
 * Where a requested option came from: the caller explicitly, a default in the settings, or the
 * caller with a fallback the message itself carries ('alternative': HTML given together with a
 * text body, so a text-only protocol sends the text).
 */
export type Origin = 'explicit' | 'settings' | 'alternative';

/** What to do with an explicit option the protocol cannot honour. */
export type UnsupportedPolicy = 'error' | 'warn';

/** The effective per-message options after settings defaults and the capability rule. */
export interface Effective {
  importance: NormalizedMessage['importance'];
  readReceipt: boolean;
  deliveryReceipt: NormalizedMessage['deliveryReceipt'];
}

/** The parts of a validated message the capability rule looks at. */
export interface RequestedMessage {
  text?: string;
  html?: string;
  calendar?: unknown;
  importance?: Importance;
  readReceipt?: boolean;
  deliveryReceipt?: unknown;
  bulk?: boolean;
  replyTo?: unknown[];
  headers?: unknown[];
  inReplyTo?: string;
  references?: unknown[];
  listUnsubscribe?: unknown[];
}

/** The protocol-table key of a send: MAPI splits into its two interfaces. */
export function protocolKey(protocol: Protocol, mapiInterface: 'simple' | 'extended' | undefined): ProtocolKey {
  return protocol === 'mapi' ? `mapi-${mapiInterface ?? 'simple'}` : protocol;
}

/**
 * Which options a send asks for, and whether the caller or the user's settings asked for them.
 * `defaults` are the settings' per-message defaults; `mapiDialog` the settings' mapi.dialog
 * (a default only on a MAPI send).
 */
export function requestedFeatures(
  msg: RequestedMessage,
  options: { dialog?: boolean },
  defaults: UserMailSettings['defaults'],
  mapiDialog: boolean,
): Partial<Record<Feature, Origin>> {
  const r: Partial<Record<Feature, Origin>> = {};
  if (msg.html !== undefined) r.html = msg.text !== undefined ? 'alternative' : 'explicit';
  if (msg.calendar) r.calendar = 'explicit';
  if (msg.importance !== undefined) {
    if (msg.importance !== 'normal') r.importance = 'explicit';
  } else if (defaults.importance !== 'normal') r.importance = 'settings';
  if (msg.readReceipt !== undefined) {
    if (msg.readReceipt) r.readReceipt = 'explicit';
  } else if (defaults.readReceipt) r.readReceipt = 'settings';
  if (msg.deliveryReceipt !== undefined) {
    if (msg.deliveryReceipt) r.deliveryReceipt = 'explicit';
  } else if (defaults.deliveryReceipt) r.deliveryReceipt = 'settings';
  if (options.dialog) r.dialog = 'explicit';
  else if (options.dialog === undefined && mapiDialog) r.dialog = 'settings';
  if (msg.bulk) r.bulk = 'explicit';
  if (msg.replyTo?.length) r.replyTo = 'explicit';
  if (msg.headers?.length) r.headers = 'explicit';
  if (msg.inReplyTo) r.inReplyTo = 'explicit';
  if (msg.references?.length) r.references = 'explicit';
  if (msg.listUnsubscribe?.length) r.listUnsubscribe = 'explicit';
  return r;
}

const UNSUPPORTED_HINT = text('UNSUPPORTED_OPTION.hint');

/** 'a', 'b' and 'c' (et in French). */
const quoteList = (names: string[]): Text | string => {
  const q = names.map((n) => `'${n}'`);
  return q.length === 1 ? q[0] : text('UNSUPPORTED_OPTION.list', { first: q.slice(0, -1).join(', '), last: q[q.length - 1] });
};

/**
 * Applies the capability rule: the explicit options the protocol cannot honour fail together with
 * one UNSUPPORTED_OPTION whose `problems` lists every one of them (or, under 'warn', are dropped
 * with a warning each); a default from the settings is always dropped with a warning; HTML that
 * comes with a text body is dropped with HTML_DROPPED (the text is sent). Returns the features to drop.
 */
export function checkCapabilities(
  protocol: ProtocolKey,
  requested: Partial<Record<Feature, Origin>>,
  policy: UnsupportedPolicy,
  warnings: MailWarning[],
): Set<Feature> {
  const dropped = new Set<Feature>();
  const refused: Problem[] = [];
  const later: MailWarning[] = [];
  for (const [feature, origin] of Object.entries(requested) as [Feature, Origin][]) {
    if (supports(protocol, feature)) continue;
    const note = MATRIX[protocol][feature].note;
    const notHere = note
      ? text('UNSUPPORTED_OPTION.notHere.note', { protocol, note: text(noteKey(protocol, feature)) })
      : text('UNSUPPORTED_OPTION.notHere', { protocol });
    dropped.add(feature);
    if (origin === 'alternative') {
      later.push(warning('HTML_DROPPED', text('HTML_DROPPED', { notHere })));
    } else if (origin === 'explicit' && policy === 'error') {
      refused.push(problem(feature, notHere));
    } else {
      later.push(warning('OPTION_DROPPED', text(origin === 'settings' ? 'OPTION_DROPPED.settings' : 'OPTION_DROPPED.warn', { feature, notHere })));
    }
  }
  if (refused.length) {
    const names = refused.map((p) => p.path);
    const notes = refused
      .filter((p) => MATRIX[protocol][p.path as Feature].note)
      .map((p) => text('UNSUPPORTED_OPTION.noteOf', { feature: p.path, note: text(noteKey(protocol, p.path as Feature)) }));
    const what =
      names.length === 1
        ? text('UNSUPPORTED_OPTION.one', { feature: names[0], protocol })
        : text('UNSUPPORTED_OPTION.several', { features: quoteList(names), protocol });
    const message = notes.length ? text('UNSUPPORTED_OPTION.notes', { what, notes: textList(notes, '; ') }) : text('UNSUPPORTED_OPTION', { what });
    throw new MailError('UNSUPPORTED_OPTION', message, {
      protocol: protocol.startsWith('mapi') ? 'mapi' : (protocol as 'smtp' | 'managed'),
      hint: UNSUPPORTED_HINT,
      problems: refused,
    });
  }
  warnings.push(...later);
  return dropped;
}
