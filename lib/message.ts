/**
 * MailMessage, the one message type every protocol takes, and its validation. Everything here
 * runs before any byte is sent: a message that fails validation never reaches a server or a
 * mail client.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { AddressInput, hasLineBreak, Mailbox, parseAddressField } from './address';
import { ErrorCode, MailError, Problem, problem as textProblem, problemsText } from './errors';
import { Text, text } from './i18n';
import { Importance, IMPORTANCE_LEVELS, isImportance } from './importance';

/** An attachment: a file path (streamed, never read whole) or in-memory content. */
export interface Attachment {
  path?: string;
  content?: Buffer | string | Readable;
  filename?: string;
  contentType?: string;
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
export interface MailMessage {
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
}

/** A validated message. Options left undefined were not set by the caller. */
export interface NormalizedMessage {
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
]);
const ATTACHMENT_FIELDS = new Set(['path', 'content', 'filename', 'contentType']);
const NOTIFY = ['success', 'failure', 'delay'];

/** Content types nodemailer would guess wrong, or that clients need exact (vCard, vCalendar). */
const CONTENT_TYPES: Record<string, string> = { '.vcf': 'text/vcard', '.ics': 'text/calendar', '.vcs': 'text/x-vcalendar' };

/** Which error code a set of problems is reported under, most fundamental first. */
const CODE_ORDER = ['INVALID_MESSAGE', 'UNKNOWN_OPTION', 'INVALID_ADDRESS', 'ATTACHMENT_NOT_FOUND', 'NO_RECIPIENTS'] as const;

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
  for (const key of Object.keys(input)) {
    if (!MESSAGE_FIELDS.has(key)) problem('UNKNOWN_OPTION', key, text('UNKNOWN_OPTION.messageField', { known: [...MESSAGE_FIELDS].join(', ') }));
  }
  const m = input as Record<string, unknown>;
  const field = (name: 'to' | 'cc' | 'bcc') => (m[name] === undefined ? [] : parseAddressField(name, m[name], problems, codes));
  const to = field('to');
  const cc = field('cc');
  const bcc = field('bcc');

  const optionalString = (name: string, header: boolean) => {
    const value = m[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') return void problem('INVALID_MESSAGE', name, text('INVALID_SETTINGS.string'));
    if (header && hasLineBreak(value)) return void problem('INVALID_MESSAGE', name, text('INVALID_MESSAGE.headerInjection'));
    return value;
  };
  const subject = optionalString('subject', true) ?? '';
  const body = optionalString('text', false);
  const html = optionalString('html', false);

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

  if (problems.length === 0 && to.length + cc.length + bcc.length === 0) {
    problem('NO_RECIPIENTS', 'to', text('NO_RECIPIENTS'));
  }
  if (problems.length) {
    const code = CODE_ORDER.find((c) => codes.has(c)) ?? 'INVALID_MESSAGE';
    throw new MailError(code as ErrorCode, problemsText(text('INVALID_MESSAGE'), problems), { problems });
  }
  return { to, cc, bcc, subject, text: body, html, attachments, calendar, importance, readReceipt, deliveryReceipt, bulk };
}

type ProblemFn = (code: string, path: string, message: Text | string) => void;

function normalizeDeliveryReceipt(value: unknown, problem: ProblemFn): NormalizedMessage['deliveryReceipt'] {
  if (value === undefined) return undefined;
  if (value === false) return false;
  if (value === true) return { notify: ['success', 'failure'], ret: 'headers' };
  if (!value || typeof value !== 'object') return void problem('INVALID_MESSAGE', 'deliveryReceipt', text('INVALID_MESSAGE.deliveryReceipt'));
  const { notify = ['success', 'failure'], ret = 'headers', envelopeId, ...rest } = value as DeliveryReceiptOptions;
  for (const key of Object.keys(rest))
    problem('UNKNOWN_OPTION', `deliveryReceipt.${key}`, text('UNKNOWN_OPTION.fieldKnown', { known: 'notify, ret, envelopeId' }));
  if (!Array.isArray(notify) || notify.length === 0 || notify.some((n) => !NOTIFY.includes(n))) {
    problem('INVALID_MESSAGE', 'deliveryReceipt.notify', text('INVALID_MESSAGE.notify', { values: NOTIFY.join(', ') }));
  }
  if (ret !== 'headers' && ret !== 'full') problem('INVALID_MESSAGE', 'deliveryReceipt.ret', text('INVALID_SETTINGS.oneOf', { values: "'headers', 'full'" }));
  // ENVID is an xtext: printable ASCII without spaces, 100 characters at most (RFC 3461).
  if (envelopeId !== undefined && (typeof envelopeId !== 'string' || !/^[\x21-\x7e]{1,100}$/.test(envelopeId))) {
    problem('INVALID_MESSAGE', 'deliveryReceipt.envelopeId', text('INVALID_MESSAGE.envelopeId'));
  }
  return { notify, ret, envelopeId };
}

function normalizeCalendar(value: unknown, problem: ProblemFn): NormalizedMessage['calendar'] {
  if (value === undefined) return undefined;
  const cal = value as { content?: unknown; method?: unknown };
  if (!cal || typeof cal !== 'object' || typeof cal.content !== 'string') {
    return void problem('INVALID_MESSAGE', 'calendar', text('INVALID_MESSAGE.calendar'));
  }
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
  for (const [i, raw] of value.entries()) {
    const at = `attachments[${i}]`;
    if (!raw || typeof raw !== 'object') {
      problem('INVALID_MESSAGE', at, text('INVALID_MESSAGE.attachment'));
      continue;
    }
    const a = raw as Attachment;
    for (const key of Object.keys(a)) if (!ATTACHMENT_FIELDS.has(key)) problem('UNKNOWN_OPTION', `${at}.${key}`, text('UNKNOWN_OPTION.attachmentField'));
    if ((a.path === undefined) === (a.content === undefined)) {
      problem('INVALID_MESSAGE', at, text('INVALID_MESSAGE.pathOrContent'));
      continue;
    }
    for (const key of ['filename', 'contentType'] as const) {
      if (a[key] !== undefined && (typeof a[key] !== 'string' || hasLineBreak(a[key] as string))) {
        problem('INVALID_MESSAGE', `${at}.${key}`, text('INVALID_MESSAGE.stringNoLineBreak'));
      }
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
    } else if (!(typeof a.content === 'string' || Buffer.isBuffer(a.content) || a.content instanceof Readable)) {
      problem('INVALID_MESSAGE', `${at}.content`, text('INVALID_MESSAGE.content'));
    } else if (!a.filename) {
      problem('INVALID_MESSAGE', `${at}.filename`, text('INVALID_MESSAGE.filenameRequired'));
    }
    const filename = a.filename ?? path.basename(filePath ?? '');
    if (a.filename === undefined && hasLineBreak(filename)) {
      problem('INVALID_MESSAGE', `${at}.path`, text('INVALID_MESSAGE.filenameLineBreak'));
    }
    const contentType = a.contentType ?? CONTENT_TYPES[path.extname(filename).toLowerCase()];
    out.push({ path: filePath, content: a.content, filename, contentType });
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
