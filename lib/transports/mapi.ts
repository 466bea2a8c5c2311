/**
 * The MAPI path: the mail client installed on the Windows PC, through the native addon.
 * TypeScript decides everything (recipients, body, temp files for in-memory attachments, error
 * wording); the addon only marshals the request to MAPI32 on its own thread.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MapiFlavour } from '../doctor/bitness';
import type * as Bitness from '../doctor/bitness';
import type * as FileHead from '../doctor/file-head';
import { failWithProblems, MailError, MailWarning, problem, warning } from '../errors';
import { format, Text, text } from '../i18n';
import { mapiImportance } from '../importance';
import { ansiError, extendedMapiError, isLoadFailure, mapiLoadError, simpleMapiError } from '../mapi-codes';
import { NormalizedAttachment, NormalizedMessage } from '../message';
import { loadNative, NativeBinding, NativeLoad } from '../native';
import type { MapiSettings } from '../settings';
import type { Effective } from '../capabilities';
import { htmlToText } from './compose';
import { onAbort } from './send-control';
import type { Delivery, SendJob, Transport } from './transport';

/** Per-send MAPI options. */
export interface MapiSendOptions {
  /** Show the mail client's compose window (overrides settings.mapi.dialog). */
  dialog?: boolean;
  /** Parent window: Electron's getNativeWindowHandle() Buffer, or the HWND as a bigint. */
  parentWindow?: Buffer | bigint;
}

/**
 * Turns a parent-window handle into the ulUIParam value, a ULONG_PTR: at most 32 bits in a 32-bit
 * (ia32) process, 64 bits otherwise.
 */
export function uiParam(parent: Buffer | bigint | undefined, arch: string = process.arch): bigint {
  if (parent === undefined) return 0n;
  if (typeof parent === 'bigint') {
    const max = arch === 'ia32' ? 0xffffffffn : 0xffffffffffffffffn;
    if (parent < 0n || parent > max)
      throw new TypeError(`send: parentWindow is out of range${arch === 'ia32' ? ' (a 32-bit process has 32-bit window handles)' : ''}`);
    return parent;
  }
  if (Buffer.isBuffer(parent) && parent.length === 8) return uiParam(parent.readBigUInt64LE(0), arch);
  if (Buffer.isBuffer(parent) && parent.length === 4) return BigInt(parent.readUInt32LE(0));
  throw new TypeError('send: parentWindow must be a bigint or the 4- or 8-byte Buffer of getNativeWindowHandle()');
}

/** What a MAPI send reports back to the mailer. */
export interface MapiOutcome {
  /** false when an ANSI-only client got the message (MAPISendMail). */
  unicode: boolean;
  savedToSent: boolean;
  /** Problems that did not stop the send (TEMP_CLEANUP_FAILED). */
  warnings: MailWarning[];
}

/** MAPI profile names have at most 64 characters (MAPILogon, MAPILogonEx). */
export const MAX_PROFILE_LENGTH = 64;

const unavailable = (op: string, reason: Text | string) =>
  new MailError('MAPI_UNAVAILABLE', text('MAPI_UNAVAILABLE.unavailable', { op, reason }), {
    protocol: 'mapi',
    hint: text('MAPI_UNAVAILABLE.hint'),
  });

function checkProfile(profile: string | undefined): void {
  if (profile && profile.length > MAX_PROFILE_LENGTH) {
    failWithProblems('INVALID_SETTINGS', text('INVALID_SETTINGS.mapi'), [
      problem(
        'mapi.profile',
        text('INVALID_SETTINGS.profileLength', { length: profile.length, max: MAX_PROFILE_LENGTH }),
        text('INVALID_SETTINGS.hint.profiles'),
      ),
    ]);
  }
}

const RETRIED = new Set(['EBUSY', 'EPERM', 'EACCES', 'ENOTEMPTY', 'EMFILE', 'ENFILE']);

/**
 * Removes the temp folder. A mail client may still hold a copy open for a moment (EBUSY or EPERM on
 * Windows): tried 5 more times over 1.5 s, never longer. (fs.rm's own maxRetries applies at every
 * level of the tree, so a file held open would keep the send waiting for tens of seconds.)
 */
export async function removeTempDir(dir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fs.rm(dir, { recursive: true, force: true });
    } catch (err) {
      if (attempt > 5 || !RETRIED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/**
 * Before the first MAPI call: MAPI_BITNESS_MISMATCH when the mail client's DLL (as this process's
 * registry view names it, read by the addon) cannot be loaded by this process (doctor/bitness.ts).
 */
export async function checkBitness(binding: NativeBinding, flavour: MapiFlavour, op: string): Promise<void> {
  const read = binding.readRegistry;
  if (!read) return;
  // The doctor's code is loaded by the first MAPI send, not by require('oxymail').
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { checkMapiBitness } = require('../doctor/bitness') as typeof Bitness;
  const { readFileHeadSync } = require('../doctor/file-head') as typeof FileHead;
  /* eslint-enable @typescript-eslint/no-require-imports */
  // Synchronous reads behind the async interface: no I/O turn, so sends keep their order.
  const reader = {
    env: process.env,
    readFileHead: async (file: string, bytes: number) => readFileHeadSync(file, bytes),
    readRegistry: async (key: string, name: string | null) => {
      const [hive, ...rest] = key.split('\\');
      return read(hive as 'HKCU' | 'HKLM', rest.join('\\'), name);
    },
  };
  await checkMapiBitness(reader, flavour, process.arch, { dllPath: process.env.OXYMAIL_MAPI_DLL || undefined, op });
}

/** Adds `text` to an error's message, and to the stack's first line that printing an error shows. */
function appendToMessage(err: Error, text: string): void {
  const before = err.message;
  // Read first: V8 formats the stack on first access, with the message of that moment.
  const stack = err.stack;
  err.message += text;
  if (typeof stack === 'string' && before !== '') err.stack = stack.replace(before, err.message);
}

/** Sends through Simple or Extended MAPI. `native` and `removeTemp` are seams: tests may replace them. */
export class MapiTransport implements Transport {
  readonly name = 'mapi';
  native: () => NativeLoad = loadNative;
  bitness: (binding: NativeBinding, flavour: MapiFlavour, op: string) => Promise<void> = checkBitness;
  removeTemp: (dir: string) => Promise<void> = removeTempDir;

  constructor(private readonly settings: MapiSettings) {}

  private binding(op: string): NativeBinding {
    const loaded = this.native();
    if (!loaded.binding) throw unavailable(op, loaded.reason);
    return loaded.binding;
  }

  /** Sends in their copying stage (in-memory and stream attachments to temp files): close() ends them. */
  private readonly copying = new Set<AbortController>();

  /**
   * Sends a job through MAPI (the message, not composed bytes: the mail client composes). The
   * caller's signal and close() end the send while attachments are copied to temp files (ABORTED,
   * MAILER_CLOSED: nothing reached the mail client); once MAPI is called the mail client has it.
   */
  async send(job: SendJob, signal?: AbortSignal): Promise<Delivery> {
    const msg = job.message;
    if (!msg) throw new TypeError('send (MAPI): the job has no message (MAPI sends are never replayed from the outbox)');
    const outcome = await this.sendMessage(msg, job.effective, {
      dialog: job.dropped.has('dialog') ? false : job.dialog,
      parentWindow: job.parentWindow,
      signal,
    });
    const warnings: MailWarning[] = [];
    if (job.dropped.has('html') && msg.text === undefined) warnings.push(warning('HTML_CONVERTED', text('HTML_CONVERTED')));
    if (msg.attachments.some((a) => a.cid)) warnings.push(warning('INLINE_ATTACHED', text('INLINE_ATTACHED')));
    warnings.push(...outcome.warnings);
    if (!outcome.unicode) {
      warnings.push(warning('MAPI_ANSI', text('MAPI_ANSI')));
    }
    return {
      messageId: null,
      accepted: [...msg.to, ...msg.cc, ...msg.bcc].map((m) => m.address),
      rejected: [],
      rejectedDetails: [],
      savedToSent: outcome.savedToSent,
      warnings,
      // The capability rule has already dropped a receipt the interface cannot ask for.
      dsnOffered: true,
    };
  }

  /**
   * Sends one message through MAPI; resolves once the mail client has taken it. In-memory attachments are copied to
   * a private temp folder, removed afterwards whatever happens. A failed removal never changes the
   * send's outcome: a sent message resolves with a TEMP_CLEANUP_FAILED warning; a failed send
   * rejects with its own error, whose message then also says which folder was left behind.
   */
  async sendMessage(msg: NormalizedMessage, eff: Effective, options: MapiSendOptions & { signal?: AbortSignal }): Promise<MapiOutcome> {
    checkProfile(this.settings.profile);
    const binding = this.binding('send');
    await this.bitness(binding, this.settings.interface === 'extended' ? 'extended' : 'simple', 'send');
    // One controller per send for its copying stage: the caller's signal and close() both end it.
    const copying = new AbortController();
    this.copying.add(copying);
    const unsubscribe = options.signal && onAbort(options.signal, () => copying.abort('aborted'));
    if (options.signal?.aborted) copying.abort('aborted');
    const temp = msg.attachments.some((a) => a.path === undefined) ? await fs.mkdtemp(path.join(os.tmpdir(), 'oxymail-')) : undefined;
    let outcome: Omit<MapiOutcome, 'warnings'>;
    try {
      try {
        outcome = await this.sendWith(binding, msg, eff, options, temp, copying);
      } finally {
        unsubscribe?.();
        this.copying.delete(copying);
      }
    } catch (err) {
      const leftBehind = await this.cleanUp(temp);
      if (leftBehind !== undefined && err instanceof Error) appendToMessage(err, `; ${format(text('TEMP_CLEANUP_FAILED.also', { what: leftBehind }))}`);
      throw err;
    }
    const leftBehind = await this.cleanUp(temp);
    return { ...outcome, warnings: leftBehind === undefined ? [] : [warning('TEMP_CLEANUP_FAILED', leftBehind)] };
  }

  /** Ends the sends still copying their attachments (MAILER_CLOSED); a send already in the mail client's hands goes on. */
  close(): void {
    for (const c of this.copying) c.abort('closed');
  }

  /** Removes the temp folder, if there is one; says what was left behind, or undefined when nothing was. */
  private async cleanUp(temp: string | undefined): Promise<Text | undefined> {
    if (temp === undefined) return undefined;
    try {
      await this.removeTemp(temp);
      return undefined;
    } catch (err) {
      return text('TEMP_CLEANUP_FAILED', { temp, error: err instanceof Error ? err.message : String(err) });
    }
  }

  private async sendWith(
    binding: NativeBinding,
    msg: NormalizedMessage,
    eff: Effective,
    options: MapiSendOptions,
    temp: string | undefined,
    copying: AbortController,
  ): Promise<Omit<MapiOutcome, 'warnings'>> {
    // Every copy is finished (written or failed) before the temp folder can be removed.
    const copies = await Promise.allSettled(msg.attachments.map((a, i) => attachmentFile(a, i, temp, copying.signal)));
    // Ended while copying (or before): the streams are destroyed and MAPI is never called.
    const ended = copying.signal.reason as 'aborted' | 'closed' | undefined;
    this.copying.delete(copying);
    if (ended) {
      for (const a of msg.attachments) if (a.content instanceof Readable) a.content.destroy();
      throw ended === 'closed'
        ? new MailError('MAILER_CLOSED', text('MAILER_CLOSED', { where: 'send (MAPI)' }), { protocol: 'mapi' })
        : new MailError('ABORTED', text('ABORTED.notSent', { where: 'send (MAPI)' }), { protocol: 'mapi' });
    }
    const failed = copies.findIndex((c) => c.status === 'rejected');
    if (failed >= 0) {
      const err: unknown = (copies[failed] as PromiseRejectedResult).reason;
      const why = err instanceof Error ? err.message : String(err);
      throw new MailError('ATTACHMENT_NOT_FOUND', text('ATTACHMENT_NOT_FOUND.mapiCopy', { index: failed, filename: msg.attachments[failed].filename, why }), {
        protocol: 'mapi',
        cause: err,
      });
    }
    const common = {
      dllPath: process.env.OXYMAIL_MAPI_DLL || undefined,
      // An empty profile or password means "none": no logon is made with it.
      profile: this.settings.profile || undefined,
      password: this.settings.password || undefined,
      uiParam: uiParam(options.parentWindow),
      subject: msg.subject,
      body: msg.text ?? (msg.html !== undefined ? htmlToText(msg.html) : ''),
      readReceipt: eff.readReceipt,
      recipients: [
        ...msg.to.map((m) => ({ recipClass: 1 as const, name: m.name || m.address, address: m.address })),
        ...msg.cc.map((m) => ({ recipClass: 2 as const, name: m.name || m.address, address: m.address })),
        ...msg.bcc.map((m) => ({ recipClass: 3 as const, name: m.name || m.address, address: m.address })),
      ],
      attachments: copies.map((c) => (c as PromiseFulfilledResult<{ path: string; name: string }>).value),
    };
    if (this.settings.interface === 'extended') {
      if (!binding.sendExtended) throw unavailable('send', 'this build of the addon has no Extended MAPI');
      const result = await binding.sendExtended({
        ...common,
        // Extended MAPI sends silently; a logon dialog is allowed only when the caller gave a window to own it.
        logonUI: options.parentWindow !== undefined,
        importance: mapiImportance(eff.importance ?? 'normal'),
        deliveryReport: !!eff.deliveryReceipt,
        saveToSent: true,
      });
      if (isLoadFailure(result.call)) throw mapiLoadError(result, 'extended');
      if (result.hresult !== 0) throw extendedMapiError(result.hresult, result.call, 'send', common.password !== undefined);
      return { unicode: true, savedToSent: result.savedToSent };
    }
    const dialog = options.dialog ?? this.settings.dialog;
    const result = await binding.sendSimple({ ...common, logonUI: dialog, dialog });
    if (isLoadFailure(result.call)) throw mapiLoadError(result, 'simple');
    if (result.call === 'WideCharToMultiByte') throw ansiError(result.unrepresentable, common);
    if (result.status !== 0) throw simpleMapiError(result.status, result.call);
    // Simple MAPI clients keep what they send in their Sent Items.
    return { unicode: result.unicode, savedToSent: true };
  }
}

/** The MAPI profiles of this machine (MAPIAdminProfiles), for an administrator to pick one. */
export async function listProfiles(native: () => NativeLoad = loadNative): Promise<{ name: string; isDefault: boolean }[]> {
  const loaded = native();
  if (!loaded.binding) throw unavailable('profiles', loaded.reason);
  if (!loaded.binding.listProfiles) throw unavailable('profiles', 'this build of the addon has no Extended MAPI');
  await checkBitness(loaded.binding, 'extended', 'profiles');
  const result = await loaded.binding.listProfiles({ dllPath: process.env.OXYMAIL_MAPI_DLL || undefined });
  if (isLoadFailure(result.call)) throw mapiLoadError(result, 'extended', 'profiles');
  if (result.hresult !== 0) throw extendedMapiError(result.hresult, result.call, 'profiles');
  return result.profiles;
}

// Windows' reserved device names: "con.txt" or "NUL" opens the device, not a file.
const RESERVED_NAME = /^(con|prn|aux|nul|com[0-9]|lpt[0-9]|conin\$|conout\$)$/i;
const MAX_TEMP_NAME = 80;

/**
 * The file name of a temp copy, from the attachment's display name. Some mail clients show the
 * copy's own name instead of lpszFileName, so it stays readable; but it may also go through the
 * ANSI MAPISendMail in any Windows code page, so it is printable ASCII: accents dropped (é -> e),
 * other characters (emoji, other scripts, controls, <>:"/\|?*) as _, reserved device names
 * prefixed, no trailing dot or space, at most 80 characters with the extension kept. The real name
 * travels in lpszFileName.
 */
export function tempFileName(displayName: string): string {
  const ascii = displayName
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/gu, '_')
    .replace(/[<>:"/\\|?*]/g, '_')
    .replace(/_{2,}/g, '_')
    .replace(/^[ .]+|[ .]+$/g, '');
  let ext = path.extname(ascii);
  if (ext.length > 16 || !/[A-Za-z0-9]/.test(ext)) ext = '';
  let stem = ascii.slice(0, ascii.length - ext.length).trimEnd();
  if (!/[A-Za-z0-9]/.test(stem)) stem = 'attachment';
  if (RESERVED_NAME.test(stem.split('.')[0].trimEnd())) stem = '_' + stem;
  stem = stem.slice(0, MAX_TEMP_NAME - ext.length).replace(/[ .]+$/, '');
  return stem + ext;
}

/**
 * MAPI only takes files: in-memory content is written to a private temp folder (one sub-folder
 * per attachment, so two attachments may share a display name) and removed after the send.
 */
async function attachmentFile(a: NormalizedAttachment, i: number, temp: string | undefined, signal: AbortSignal): Promise<{ path: string; name: string }> {
  if (a.path !== undefined) return { path: a.path, name: a.filename };
  const dir = path.join(temp as string, String(i));
  await fs.mkdir(dir);
  const file = path.join(dir, tempFileName(a.filename));
  const source = a.content instanceof Readable ? a.content : Readable.from([a.content as Buffer | string]);
  await pipeline(source, createWriteStream(file, { mode: 0o600 }), { signal });
  return { path: file, name: a.filename };
}
