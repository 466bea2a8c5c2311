/**
 * The capability matrix: which option each protocol honours. It is data, returned as is by
 * `capabilities()`, and the one place `send()` checks a request against.
 */
import { MailError, MailWarning, warning } from './errors';
import { MessageKey, text } from './i18n';

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
    dialog: no,
    savedToSent: no,
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
    dialog: no,
    savedToSent: { supported: false, note: 'no copy in Sent: Cc or Bcc yourself' },
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

/** Where a requested option came from: the caller explicitly, or a default in the settings. */
export type Origin = 'explicit' | 'settings';

/** What to do with an explicit option the protocol cannot honour. */
export type UnsupportedPolicy = 'error' | 'warn';

/**
 * Applies the capability rule: an explicit option the protocol cannot honour fails with
 * UNSUPPORTED_OPTION (or, under 'warn', is dropped with a warning); a default from the settings
 * is always dropped with a warning. Returns the features to drop.
 */
export function checkCapabilities(
  protocol: ProtocolKey,
  requested: Partial<Record<Feature, Origin>>,
  policy: UnsupportedPolicy,
  warnings: MailWarning[],
): Set<Feature> {
  const dropped = new Set<Feature>();
  for (const [feature, origin] of Object.entries(requested) as [Feature, Origin][]) {
    if (supports(protocol, feature)) continue;
    const note = MATRIX[protocol][feature].note;
    const what = note
      ? text('UNSUPPORTED_OPTION.what.note', { feature, protocol, note: text(noteKey(protocol, feature)) })
      : text('UNSUPPORTED_OPTION.what', { feature, protocol });
    if (origin === 'explicit' && policy === 'error') {
      throw new MailError('UNSUPPORTED_OPTION', text('UNSUPPORTED_OPTION', { what }), {
        protocol: protocol.startsWith('mapi') ? 'mapi' : (protocol as 'smtp' | 'managed'),
        hint: text('UNSUPPORTED_OPTION.hint', { feature }),
      });
    }
    dropped.add(feature);
    warnings.push(warning('OPTION_DROPPED', text(origin === 'settings' ? 'OPTION_DROPPED.settings' : 'OPTION_DROPPED.warn', { what })));
  }
  return dropped;
}
