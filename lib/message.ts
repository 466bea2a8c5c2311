/**
 * MailMessage, the one message type every protocol takes, and its validation. Everything here
 * runs before any byte is sent: a message that fails validation never reaches a server or a
 * mail client.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { AddressInput, forbiddenCharacter, hasLineBreak, Mailbox, parseAddressField } from './address';
import { MailError, Problem } from './errors';
import { Importance, IMPORTANCE_LEVELS, isImportance } from './importance';
import { closest } from './suggest';
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
export function checkContentType(value: string): string | undefined {
  if (value.length > MESSAGE_LIMITS.contentType) return `is over ${MESSAGE_LIMITS.contentType} characters`;
  if (!MIME_TYPE.test(value)) return "must be a MIME type such as 'application/pdf' or 'text/plain; charset=utf-8' (ASCII, no control character)";
  if (/^multipart\//i.test(value)) return 'must be a single-part type: a multipart type would hide the attachment (nodemailer builds the structure)';
  if (/;\s*boundary=/i.test(value)) return 'must not set a boundary';
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
    problem('INVALID_MESSAGE', at || '(message)', `cannot be read: ${(err as Error)?.message ?? String(err)}`);
    return out;
  }
  for (const key of keys) {
    try {
      out[key] = (value as Record<string, unknown>)[key];
    } catch (err) {
      problem('INVALID_MESSAGE', at ? `${at}.${key}` : key, `cannot be read (its getter threw: ${(err as Error)?.message ?? String(err)})`);
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
    throw new MailError('INVALID_MESSAGE', 'send: the message must be an object');
  }
  const problems: Problem[] = [];
  const codes = new Set<string>();
  const problem = (code: string, p: string, message: string) => {
    problems.push({ path: p, message });
    codes.add(code);
  };
  const m = ownFields(input, '', problem);
  for (const key of Object.keys(m)) {
    if (!MESSAGE_FIELDS.has(key)) {
      const guess = closest(key, [...MESSAGE_FIELDS]);
      problem('UNKNOWN_OPTION', key, `unknown message field${guess ? `; did you mean ${guess}?` : ''} (known: ${[...MESSAGE_FIELDS].join(', ')})`);
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
    problem(
      'MESSAGE_TOO_LARGE',
      'to',
      `${to.length + cc.length + bcc.length} recipients: at most ${MESSAGE_LIMITS.recipients} per message (send in several batches)`,
    );
  }

  const optionalString = (name: string, header: boolean, max: number) => {
    const value = m[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') return void problem('INVALID_MESSAGE', name, 'must be a string');
    if (header && hasLineBreak(value)) return void problem('INVALID_MESSAGE', name, 'must not contain CR or LF (header injection)');
    if (header && forbiddenCharacter(value.replace(/\t/g, ' '))) {
      return void problem('INVALID_MESSAGE', name, `must not hold control or invisible characters (${forbiddenCharacter(value.replace(/\t/g, ' '))})`);
    }
    if (value.length > max) return void problem('MESSAGE_TOO_LARGE', name, `is ${value.length} characters: at most ${max}`);
    return value;
  };
  const subject = optionalString('subject', true, MESSAGE_LIMITS.subject) ?? '';
  const text = optionalString('text', false, MESSAGE_LIMITS.body);
  const html = optionalString('html', false, MESSAGE_LIMITS.body);

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
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return void problem('INVALID_MESSAGE', 'deliveryReceipt', 'must be true, false or { notify, ret, envelopeId }');
  }
  const { notify = ['success', 'failure'], ret = 'headers', envelopeId, ...rest } = ownFields(value, 'deliveryReceipt', problem) as DeliveryReceiptOptions;
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
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return void problem('INVALID_MESSAGE', 'calendar', 'must be { content: string, method?: string }');
  const cal = ownFields(value, 'calendar', problem) as { content?: unknown; method?: unknown };
  if (typeof cal.content !== 'string') return void problem('INVALID_MESSAGE', 'calendar', 'must be { content: string, method?: string }');
  if (cal.content.length > MESSAGE_LIMITS.calendar)
    return void problem('MESSAGE_TOO_LARGE', 'calendar.content', `is over ${MESSAGE_LIMITS.calendar} characters`);
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
  const list = Object.values(ownFields(value, 'attachments', problem));
  if (list.length > MESSAGE_LIMITS.attachments) {
    problem('MESSAGE_TOO_LARGE', 'attachments', `${list.length} attachments: at most ${MESSAGE_LIMITS.attachments} (zip them)`);
    return [];
  }
  for (const [i, raw] of list.entries()) {
    const at = `attachments[${i}]`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      problem('INVALID_MESSAGE', at, 'must be { path | content, filename?, contentType? }');
      continue;
    }
    const a = ownFields(raw, at, problem) as Attachment;
    for (const key of Object.keys(a)) if (!ATTACHMENT_FIELDS.has(key)) problem('UNKNOWN_OPTION', `${at}.${key}`, 'unknown attachment field');
    if ((a.path === undefined) === (a.content === undefined)) {
      problem('INVALID_MESSAGE', at, 'needs exactly one of path or content');
      continue;
    }
    let typesOk = true;
    for (const key of ['filename', 'contentType', 'cid'] as const) {
      if (a[key] !== undefined && (typeof a[key] !== 'string' || hasLineBreak(a[key] as string))) {
        problem('INVALID_MESSAGE', `${at}.${key}`, 'must be a string without CR or LF');
        typesOk = false;
      }
    }
    if (!typesOk) continue;
    if (typeof a.filename === 'string') {
      const bad = forbiddenCharacter(a.filename);
      if (bad) problem('INVALID_MESSAGE', `${at}.filename`, `must not hold control or invisible characters (${bad})`);
      else if (a.filename.length > MESSAGE_LIMITS.filename) problem('MESSAGE_TOO_LARGE', `${at}.filename`, `is over ${MESSAGE_LIMITS.filename} characters`);
    }
    if (typeof a.contentType === 'string') {
      const bad = checkContentType(a.contentType);
      if (bad) problem('INVALID_MESSAGE', `${at}.contentType`, bad);
    }
    if ((typeof a.content === 'string' || Buffer.isBuffer(a.content)) && Buffer.byteLength(a.content) > MESSAGE_LIMITS.inMemoryAttachment) {
      problem('MESSAGE_TOO_LARGE', `${at}.content`, `is over ${MESSAGE_LIMITS.inMemoryAttachment} bytes in memory: give large files by path (streamed)`);
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
    if (a.filename === undefined && (hasLineBreak(filename) || forbiddenCharacter(filename) || filename.length > MESSAGE_LIMITS.filename)) {
      problem(
        'INVALID_MESSAGE',
        `${at}.path`,
        'the file name (used as the attachment name) holds CR, LF or control characters, or is too long: give a filename',
      );
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
