/**
 * MailMessage, the one message type every protocol takes, and its validation. Everything here
 * runs before any byte is sent: a message that fails validation never reaches a server or a
 * mail client.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { AddressInput, hasLineBreak, Mailbox, parseAddressField } from './address';
import { MailError, Problem } from './errors';
import { Importance, IMPORTANCE_LEVELS, isImportance } from './importance';
import { EXTRA_FIELDS, MessageExtras, NormalizedExtras, normalizeExtras } from './message-extras';

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
const CODE_ORDER = ['INVALID_MESSAGE', 'UNKNOWN_OPTION', 'INVALID_ADDRESS', 'ATTACHMENT_NOT_FOUND', 'NO_RECIPIENTS'] as const;

/**
 * Validates and normalises a message. Throws MailError (INVALID_MESSAGE, INVALID_ADDRESS,
 * UNKNOWN_OPTION, ATTACHMENT_NOT_FOUND or NO_RECIPIENTS) listing every problem.
 */
export async function validateMessage(input: MailMessage): Promise<NormalizedMessage> {
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new MailError('INVALID_MESSAGE', 'send: the message must be an object');
  }
  const problems: Problem[] = [];
  const codes = new Set<string>();
  const problem = (code: string, p: string, message: string) => {
    problems.push({ path: p, message });
    codes.add(code);
  };
  for (const key of Object.keys(input)) {
    if (!MESSAGE_FIELDS.has(key)) problem('UNKNOWN_OPTION', key, `unknown message field (known: ${[...MESSAGE_FIELDS].join(', ')})`);
  }
  const m = input as Record<string, unknown>;
  const field = (name: 'to' | 'cc' | 'bcc') => (m[name] === undefined ? [] : parseAddressField(name, m[name], problems, codes));
  const to = field('to');
  const cc = field('cc');
  const bcc = field('bcc');

  const optionalString = (name: string, header: boolean) => {
    const value = m[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') return void problem('INVALID_MESSAGE', name, 'must be a string');
    if (header && hasLineBreak(value)) return void problem('INVALID_MESSAGE', name, 'must not contain CR or LF (header injection)');
    return value;
  };
  const subject = optionalString('subject', true) ?? '';
  const text = optionalString('text', false);
  const html = optionalString('html', false);

  const optionalBoolean = (name: string) => {
    if (m[name] !== undefined && typeof m[name] !== 'boolean') problem('INVALID_MESSAGE', name, 'must be true or false');
    return m[name] as boolean | undefined;
  };
  const readReceipt = optionalBoolean('readReceipt');
  const bulk = optionalBoolean('bulk') ?? false;

  let importance: Importance | undefined;
  if (m.importance !== undefined) {
    if (isImportance(m.importance)) importance = m.importance;
    else problem('INVALID_MESSAGE', 'importance', `must be one of ${IMPORTANCE_LEVELS.join(', ')}`);
  }

  const deliveryReceipt = normalizeDeliveryReceipt(m.deliveryReceipt, problem);
  const calendar = normalizeCalendar(m.calendar, problem);
  const attachments = await normalizeAttachments(m.attachments, problem);
  const extra = normalizeExtras(m, problems, codes, problem, bulk, importance);

  if (problems.length === 0 && to.length + cc.length + bcc.length === 0) {
    problem('NO_RECIPIENTS', 'to', 'the message needs at least one recipient (to, cc or bcc)');
  }
  if (problems.length) {
    const code = CODE_ORDER.find((c) => codes.has(c)) ?? 'INVALID_MESSAGE';
    const lines = problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n');
    throw new MailError(code, `send: invalid message, nothing was sent:\n${lines}`, { problems });
  }
  return { to, cc, bcc, subject, text, html, attachments, calendar, importance: extra.importance, readReceipt, deliveryReceipt, bulk, ...extra.extras };
}

type ProblemFn = (code: string, path: string, message: string) => void;

function normalizeDeliveryReceipt(value: unknown, problem: ProblemFn): NormalizedMessage['deliveryReceipt'] {
  if (value === undefined) return undefined;
  if (value === false) return false;
  if (value === true) return { notify: ['success', 'failure'], ret: 'headers' };
  if (!value || typeof value !== 'object') return void problem('INVALID_MESSAGE', 'deliveryReceipt', 'must be a boolean or { notify, ret, envelopeId }');
  const { notify = ['success', 'failure'], ret = 'headers', envelopeId, ...rest } = value as DeliveryReceiptOptions;
  for (const key of Object.keys(rest)) problem('UNKNOWN_OPTION', `deliveryReceipt.${key}`, 'unknown field (known: notify, ret, envelopeId)');
  if (!Array.isArray(notify) || notify.length === 0 || notify.some((n) => !NOTIFY.includes(n))) {
    problem('INVALID_MESSAGE', 'deliveryReceipt.notify', `must be a non-empty array of ${NOTIFY.join(', ')}`);
  }
  if (ret !== 'headers' && ret !== 'full') problem('INVALID_MESSAGE', 'deliveryReceipt.ret', "must be 'headers' or 'full'");
  // ENVID is an xtext: printable ASCII without spaces, 100 characters at most (RFC 3461).
  if (envelopeId !== undefined && (typeof envelopeId !== 'string' || !/^[\x21-\x7e]{1,100}$/.test(envelopeId))) {
    problem('INVALID_MESSAGE', 'deliveryReceipt.envelopeId', 'must be 1 to 100 printable ASCII characters without spaces');
  }
  return { notify, ret, envelopeId };
}

function normalizeCalendar(value: unknown, problem: ProblemFn): NormalizedMessage['calendar'] {
  if (value === undefined) return undefined;
  const cal = value as { content?: unknown; method?: unknown };
  if (!cal || typeof cal !== 'object' || typeof cal.content !== 'string') {
    return void problem('INVALID_MESSAGE', 'calendar', 'must be { content: string, method?: string }');
  }
  for (const key of Object.keys(cal)) if (key !== 'content' && key !== 'method') problem('UNKNOWN_OPTION', `calendar.${key}`, 'unknown field');
  const method = cal.method ?? 'PUBLISH';
  if (typeof method !== 'string' || !/^[A-Za-z-]{1,32}$/.test(method)) {
    return void problem('INVALID_MESSAGE', 'calendar.method', 'must be an iCalendar method such as REQUEST or PUBLISH');
  }
  return { content: cal.content, method: method.toUpperCase() };
}

async function normalizeAttachments(value: unknown, problem: ProblemFn): Promise<NormalizedAttachment[]> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problem('INVALID_MESSAGE', 'attachments', 'must be an array');
    return [];
  }
  const out: NormalizedAttachment[] = [];
  for (const [i, raw] of value.entries()) {
    const at = `attachments[${i}]`;
    if (!raw || typeof raw !== 'object') {
      problem('INVALID_MESSAGE', at, 'must be { path | content, filename?, contentType? }');
      continue;
    }
    const a = raw as Attachment;
    for (const key of Object.keys(a)) if (!ATTACHMENT_FIELDS.has(key)) problem('UNKNOWN_OPTION', `${at}.${key}`, 'unknown attachment field');
    if ((a.path === undefined) === (a.content === undefined)) {
      problem('INVALID_MESSAGE', at, 'needs exactly one of path or content');
      continue;
    }
    for (const key of ['filename', 'contentType', 'cid'] as const) {
      if (a[key] !== undefined && (typeof a[key] !== 'string' || hasLineBreak(a[key] as string))) {
        problem('INVALID_MESSAGE', `${at}.${key}`, 'must be a string without CR or LF');
      }
    }
    let filePath: string | undefined;
    if (a.path !== undefined) {
      if (typeof a.path !== 'string' || a.path === '') {
        problem('INVALID_MESSAGE', `${at}.path`, 'must be a file path');
        continue;
      }
      filePath = path.resolve(a.path);
      const unreadable = await checkReadableFile(filePath);
      if (unreadable) problem('ATTACHMENT_NOT_FOUND', `${at}.path`, `${filePath}: ${unreadable}`);
    } else if (!(typeof a.content === 'string' || Buffer.isBuffer(a.content) || a.content instanceof Readable)) {
      problem('INVALID_MESSAGE', `${at}.content`, 'must be a Buffer, a string or a readable stream');
    } else if (!a.filename) {
      problem('INVALID_MESSAGE', `${at}.filename`, 'is required for in-memory content');
    }
    const filename = a.filename ?? path.basename(filePath ?? '');
    if (a.filename === undefined && hasLineBreak(filename)) {
      problem('INVALID_MESSAGE', `${at}.path`, 'the file name (used as the attachment name) contains CR or LF: give a filename');
    }
    const contentType = a.contentType ?? CONTENT_TYPES[path.extname(filename).toLowerCase()];
    out.push({ path: filePath, content: a.content, filename, contentType, cid: a.cid });
  }
  return out;
}

async function checkReadableFile(file: string): Promise<string | undefined> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return 'is not a regular file';
    await fs.access(file, fsConstants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot be read (${code})`;
  }
}
