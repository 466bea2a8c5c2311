/**
 * MailMessage, the one message type every protocol takes, and its validation. Everything here
 * runs before any byte is sent: a message that fails validation never reaches a server or a
 * mail client.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { AddressInput, forbiddenCharacter, hasLineBreak, Mailbox, parseAddressField } from './address';
import { ErrorCode, MailError, Problem, problem as textProblem, problemsText } from './errors';
import { Text, text } from './i18n';
import { Importance, IMPORTANCE_LEVELS, isImportance } from './importance';
import { closest } from './suggest';
import { EXTRA_FIELDS, MessageExtras, NormalizedExtras, normalizeExtras } from './message-extras';
import { lazy } from './lazy';

// node:stream loads with the first check of a stream attachment: require('oxymail') stays fast.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const stream = lazy(() => require('node:stream') as typeof import('node:stream'));

/** An attachment: a file path (streamed, never read whole) or in-memory content. */
export interface Attachment {
  path?: string;
  content?: Buffer | string | Readable;
  filename?: string;
  contentType?: string;
  /** Content-ID of an inline image, referenced from the HTML as cid:... (SMTP; MAPI attaches it as a file). */
  cid?: string;
}

/** Delivery status notification details (RFC 3461). */
export interface DeliveryReceiptOptions {
  notify?: ('success' | 'failure' | 'delay')[];
  ret?: 'headers' | 'full';
  envelopeId?: string;
}

/** One or several recipients. */
export type AddressField = AddressInput | AddressInput[];

/** The message, the same for every protocol. */
export interface MailMessage extends MessageExtras {
  to?: AddressField;
  cc?: AddressField;
  bcc?: AddressField;
  subject?: string;
  text?: string;
  html?: string;
  attachments?: Attachment[];
  /** A text/calendar part (vCalendar task or invitation). */
  calendar?: { content: string; method?: string };
  importance?: Importance;
  readReceipt?: boolean;
  deliveryReceipt?: boolean | DeliveryReceiptOptions;
  /** Marks CRM mass mailing. */
  bulk?: boolean;
}

/** An attachment after validation: a resolved path, or content, and always a file name. */
export interface NormalizedAttachment {
  path?: string;
  content?: Buffer | string | Readable;
  filename: string;
  contentType?: string;
  cid?: string;
}

/** A validated message. Options left undefined were not set by the caller. */
export interface NormalizedMessage extends NormalizedExtras {
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  subject: string;
  text?: string;
  html?: string;
  attachments: NormalizedAttachment[];
  calendar?: { content: string; method: string };
  importance?: Importance;
  readReceipt?: boolean;
  deliveryReceipt?: (Required<Omit<DeliveryReceiptOptions, 'envelopeId'>> & { envelopeId?: string }) | false;
  bulk: boolean;
}

const MESSAGE_FIELDS = new Set([
  'to',
  'cc',
  'bcc',
  'subject',
  'text',
  'html',
  'attachments',
  'calendar',
  'importance',
  'readReceipt',
  'deliveryReceipt',
  'bulk',
  ...EXTRA_FIELDS,
]);
const ATTACHMENT_FIELDS = new Set(['path', 'content', 'filename', 'contentType', 'cid']);
const NOTIFY = ['success', 'failure', 'delay'];

/** Content types nodemailer would guess wrong, or that clients need exact (vCard, vCalendar). */
const CONTENT_TYPES: Record<string, string> = { '.vcf': 'text/vcard', '.ics': 'text/calendar', '.vcs': 'text/x-vcalendar' };

/** Which error code a set of problems is reported under, most fundamental first. */
const CODE_ORDER = ['INVALID_MESSAGE', 'UNKNOWN_OPTION', 'MESSAGE_TOO_LARGE', 'INVALID_ADDRESS', 'ATTACHMENT_NOT_FOUND', 'NO_RECIPIENTS'] as const;

/**
 * Sane upper bounds: far above any real message, low enough that nothing downstream (a header
 * line, a MAPI structure, memory) is asked for the absurd. Above them: MESSAGE_TOO_LARGE.
 */
export const MESSAGE_LIMITS = {
  subject: 2000,
  recipients: 1000,
  attachments: 250,
  filename: 255,
  contentType: 200,
  /** Characters of text or html given in memory (a string). */
  body: 50 * 1024 * 1024,
  calendar: 10 * 1024 * 1024,
  /** Bytes of one attachment given in memory (a Buffer or a string): bigger files go by path. */
  inMemoryAttachment: 100 * 1024 * 1024,
} as const;

/** A single-part MIME type with optional parameters (no boundary): what contentType may be. */
const TOKEN = '[A-Za-z0-9!#$&^_.+-]+';
const MIME_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:\\s*;\\s*${TOKEN}=(?:${TOKEN}|"[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*"))*$`);

/** Why a contentType cannot be used, or undefined. */
export function checkContentType(value: string): Text | undefined {
  if (value.length > MESSAGE_LIMITS.contentType) return text('INVALID_ADDRESS.fieldLength', { max: MESSAGE_LIMITS.contentType });
  if (!MIME_TYPE.test(value)) return text('INVALID_MESSAGE.mimeType');
  if (/^multipart\//i.test(value)) return text('INVALID_MESSAGE.multipart');
  if (/;\s*boundary=/i.test(value)) return text('INVALID_MESSAGE.boundary');
  return undefined;
}

/**
 * The caller's object as own, enumerable properties only, read once: a property inherited from a
 * polluted Object.prototype is not the caller's, and a getter that throws is an invalid message,
 * not a crash. Returns null-prototype copies.
 */
function ownFields(value: object, at: string, problem: ProblemFn): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  let keys: string[];
  try {
    keys = Object.keys(value);
  } catch (err) {
    problem('INVALID_MESSAGE', at || '(message)', text('INVALID_MESSAGE.unreadable', { error: (err as Error)?.message ?? String(err) }));
    return out;
  }
  for (const key of keys) {
    try {
      out[key] = (value as Record<string, unknown>)[key];
    } catch (err) {
      problem('INVALID_MESSAGE', at ? `${at}.${key}` : key, text('INVALID_MESSAGE.getterThrew', { error: (err as Error)?.message ?? String(err) }));
    }
  }
  return out;
}

/**
 * Validates and normalises a message. Throws MailError (INVALID_MESSAGE, INVALID_ADDRESS,
 * UNKNOWN_OPTION, ATTACHMENT_NOT_FOUND or NO_RECIPIENTS) listing every problem.
 */
export async function validateMessage(input: MailMessage): Promise<NormalizedMessage> {
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new MailError('INVALID_MESSAGE', text('INVALID_MESSAGE.notObject'));
  }
  const problems: Problem[] = [];
  const codes = new Set<string>();
  const problem = (code: string, p: string, message: Text | string) => {
    problems.push(textProblem(p, message));
    codes.add(code);
  };
  const m = ownFields(input, '', problem);
  for (const key of Object.keys(m)) {
    if (!MESSAGE_FIELDS.has(key)) {
      const guess = closest(key, [...MESSAGE_FIELDS]);
      const known = [...MESSAGE_FIELDS].join(', ');
      problem('UNKNOWN_OPTION', key, guess ? text('UNKNOWN_OPTION.messageFieldGuess', { guess, known }) : text('UNKNOWN_OPTION.messageField', { known }));
    }
  }
  const field = (name: 'to' | 'cc' | 'bcc') => {
    const value = m[name];
    if (value === undefined) return [];
    // Arrays are read by index: copy them so an inherited index or a throwing element getter cannot act.
    const items = Array.isArray(value) ? Object.values(ownFields(value, name, problem)) : value;
    return parseAddressField(name, items, problems, codes);
  };
  const to = field('to');
  const cc = field('cc');
  const bcc = field('bcc');
  if (to.length + cc.length + bcc.length > MESSAGE_LIMITS.recipients) {
    problem('MESSAGE_TOO_LARGE', 'to', text('MESSAGE_TOO_LARGE.recipients', { count: to.length + cc.length + bcc.length, max: MESSAGE_LIMITS.recipients }));
  }

  const optionalString = (name: string, header: boolean, max: number) => {
    const value = m[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') return void problem('INVALID_MESSAGE', name, text('INVALID_SETTINGS.string'));
    if (header && hasLineBreak(value)) return void problem('INVALID_MESSAGE', name, text('INVALID_MESSAGE.headerInjection'));
    if (header && forbiddenCharacter(value.replace(/\t/g, ' '))) {
      return void problem('INVALID_MESSAGE', name, text('INVALID_SETTINGS.invisible', { character: forbiddenCharacter(value.replace(/\t/g, ' ')) }));
    }
    if (value.length > max) return void problem('MESSAGE_TOO_LARGE', name, text('MESSAGE_TOO_LARGE.characters', { length: value.length, max }));
    return value;
  };
  const subject = optionalString('subject', true, MESSAGE_LIMITS.subject) ?? '';
  const body = optionalString('text', false, MESSAGE_LIMITS.body);
  const html = optionalString('html', false, MESSAGE_LIMITS.body);

  const optionalBoolean = (name: string) => {
    if (m[name] !== undefined && typeof m[name] !== 'boolean') problem('INVALID_MESSAGE', name, text('INVALID_SETTINGS.boolean'));
    return m[name] as boolean | undefined;
  };
  const readReceipt = optionalBoolean('readReceipt');
  const bulk = optionalBoolean('bulk') ?? false;

  let importance: Importance | undefined;
  if (m.importance !== undefined) {
    if (isImportance(m.importance)) importance = m.importance;
    else problem('INVALID_MESSAGE', 'importance', text('INVALID_SETTINGS.oneOf', { values: IMPORTANCE_LEVELS.join(', ') }));
  }

  const deliveryReceipt = normalizeDeliveryReceipt(m.deliveryReceipt, problem);
  const calendar = normalizeCalendar(m.calendar, problem);
  const attachments = await normalizeAttachments(m.attachments, problem);
  const extra = normalizeExtras(m, problems, codes, problem, bulk, importance);

  if (problems.length === 0 && to.length + cc.length + bcc.length === 0) {
    problem('NO_RECIPIENTS', 'to', text('NO_RECIPIENTS'));
  }
  if (problems.length) {
    const code = CODE_ORDER.find((c) => codes.has(c)) ?? 'INVALID_MESSAGE';
    throw new MailError(code as ErrorCode, problemsText(text('INVALID_MESSAGE'), problems), { problems });
  }
  return { to, cc, bcc, subject, text: body, html, attachments, calendar, importance: extra.importance, readReceipt, deliveryReceipt, bulk, ...extra.extras };
}

type ProblemFn = (code: string, path: string, message: Text | string) => void;

function normalizeDeliveryReceipt(value: unknown, problem: ProblemFn): NormalizedMessage['deliveryReceipt'] {
  if (value === undefined) return undefined;
  if (value === false) return false;
  if (value === true) return { notify: ['success', 'failure'], ret: 'headers' };
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return void problem('INVALID_MESSAGE', 'deliveryReceipt', text('INVALID_MESSAGE.deliveryReceipt'));
  }
  const { notify = ['success', 'failure'], ret = 'headers', envelopeId, ...rest } = ownFields(value, 'deliveryReceipt', problem) as DeliveryReceiptOptions;
  for (const key of Object.keys(rest))
    problem('UNKNOWN_OPTION', `deliveryReceipt.${key}`, text('UNKNOWN_OPTION.fieldKnown', { known: 'notify, ret, envelopeId' }));
  if (!Array.isArray(notify) || notify.length === 0 || notify.some((n) => !NOTIFY.includes(n))) {
    problem('INVALID_MESSAGE', 'deliveryReceipt.notify', text('INVALID_MESSAGE.notify', { values: NOTIFY.join(', ') }));
  }
  if (ret !== 'headers' && ret !== 'full') problem('INVALID_MESSAGE', 'deliveryReceipt.ret', text('INVALID_MESSAGE.ret'));
  // ENVID is an xtext: printable ASCII without spaces, 100 characters at most (RFC 3461).
  if (envelopeId !== undefined && (typeof envelopeId !== 'string' || !/^[\x21-\x7e]{1,100}$/.test(envelopeId))) {
    problem('INVALID_MESSAGE', 'deliveryReceipt.envelopeId', text('INVALID_MESSAGE.envelopeId'));
  }
  return { notify, ret, envelopeId };
}

function normalizeCalendar(value: unknown, problem: ProblemFn): NormalizedMessage['calendar'] {
  if (value === undefined) return undefined;
  if (!value || typeof value !== 'object' || Array.isArray(value)) return void problem('INVALID_MESSAGE', 'calendar', text('INVALID_MESSAGE.calendar'));
  const cal = ownFields(value, 'calendar', problem) as { content?: unknown; method?: unknown };
  if (typeof cal.content !== 'string') return void problem('INVALID_MESSAGE', 'calendar', text('INVALID_MESSAGE.calendar'));
  if (cal.content.length > MESSAGE_LIMITS.calendar)
    return void problem('MESSAGE_TOO_LARGE', 'calendar.content', text('INVALID_ADDRESS.fieldLength', { max: MESSAGE_LIMITS.calendar }));
  for (const key of Object.keys(cal)) if (key !== 'content' && key !== 'method') problem('UNKNOWN_OPTION', `calendar.${key}`, text('UNKNOWN_OPTION.field'));
  const method = cal.method ?? 'PUBLISH';
  if (typeof method !== 'string' || !/^[A-Za-z-]{1,32}$/.test(method)) {
    return void problem('INVALID_MESSAGE', 'calendar.method', text('INVALID_MESSAGE.calendarMethod'));
  }
  return { content: cal.content, method: method.toUpperCase() };
}

async function normalizeAttachments(value: unknown, problem: ProblemFn): Promise<NormalizedAttachment[]> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problem('INVALID_MESSAGE', 'attachments', text('INVALID_MESSAGE.array'));
    return [];
  }
  const out: NormalizedAttachment[] = [];
  const list = Object.values(ownFields(value, 'attachments', problem));
  if (list.length > MESSAGE_LIMITS.attachments) {
    problem('MESSAGE_TOO_LARGE', 'attachments', text('MESSAGE_TOO_LARGE.attachments', { count: list.length, max: MESSAGE_LIMITS.attachments }));
    return [];
  }
  for (const [i, raw] of list.entries()) {
    const at = `attachments[${i}]`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      problem('INVALID_MESSAGE', at, text('INVALID_MESSAGE.attachment'));
      continue;
    }
    const a = ownFields(raw, at, problem) as Attachment;
    for (const key of Object.keys(a)) if (!ATTACHMENT_FIELDS.has(key)) problem('UNKNOWN_OPTION', `${at}.${key}`, text('UNKNOWN_OPTION.attachmentField'));
    if ((a.path === undefined) === (a.content === undefined)) {
      problem('INVALID_MESSAGE', at, text('INVALID_MESSAGE.pathOrContent'));
      continue;
    }
    let typesOk = true;
    for (const key of ['filename', 'contentType', 'cid'] as const) {
      if (a[key] !== undefined && (typeof a[key] !== 'string' || hasLineBreak(a[key] as string))) {
        problem('INVALID_MESSAGE', `${at}.${key}`, text('INVALID_MESSAGE.stringNoLineBreak'));
        typesOk = false;
      }
    }
    if (!typesOk) continue;
    if (typeof a.filename === 'string') {
      const bad = forbiddenCharacter(a.filename);
      if (bad) problem('INVALID_MESSAGE', `${at}.filename`, text('INVALID_SETTINGS.invisible', { character: bad }));
      else if (a.filename.length > MESSAGE_LIMITS.filename)
        problem('MESSAGE_TOO_LARGE', `${at}.filename`, text('INVALID_ADDRESS.fieldLength', { max: MESSAGE_LIMITS.filename }));
    }
    if (typeof a.contentType === 'string') {
      const bad = checkContentType(a.contentType);
      if (bad) problem('INVALID_MESSAGE', `${at}.contentType`, bad);
    }
    if ((typeof a.content === 'string' || Buffer.isBuffer(a.content)) && Buffer.byteLength(a.content) > MESSAGE_LIMITS.inMemoryAttachment) {
      problem('MESSAGE_TOO_LARGE', `${at}.content`, text('MESSAGE_TOO_LARGE.inMemory', { max: MESSAGE_LIMITS.inMemoryAttachment }));
    }
    let filePath: string | undefined;
    if (a.path !== undefined) {
      if (typeof a.path !== 'string' || a.path === '') {
        problem('INVALID_MESSAGE', `${at}.path`, text('INVALID_MESSAGE.filePath'));
        continue;
      }
      filePath = path.resolve(a.path);
      const unreadable = await checkReadableFile(filePath);
      if (unreadable) problem('ATTACHMENT_NOT_FOUND', `${at}.path`, text('ATTACHMENT_NOT_FOUND.file', { file: filePath, why: unreadable }));
    } else if (!(typeof a.content === 'string' || Buffer.isBuffer(a.content) || a.content instanceof stream().Readable)) {
      problem('INVALID_MESSAGE', `${at}.content`, text('INVALID_MESSAGE.content'));
    } else if (!a.filename) {
      problem('INVALID_MESSAGE', `${at}.filename`, text('INVALID_MESSAGE.filenameRequired'));
    }
    const filename = a.filename ?? path.basename(filePath ?? '');
    if (a.filename === undefined && (hasLineBreak(filename) || forbiddenCharacter(filename) || filename.length > MESSAGE_LIMITS.filename)) {
      problem('INVALID_MESSAGE', `${at}.path`, text('INVALID_MESSAGE.filenameUnusable'));
    }
    const contentType = a.contentType ?? CONTENT_TYPES[path.extname(filename).toLowerCase()];
    out.push({ path: filePath, content: a.content, filename, contentType, cid: a.cid });
  }
  return out;
}

async function checkReadableFile(file: string): Promise<Text | undefined> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return text('ATTACHMENT_NOT_FOUND.notFile');
    await fs.access(file, fsConstants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? text('ATTACHMENT_NOT_FOUND.noFile')
      : code === 'EACCES'
        ? text('ATTACHMENT_NOT_FOUND.denied')
        : text('ATTACHMENT_NOT_FOUND.unreadable', { code });
  }
}
