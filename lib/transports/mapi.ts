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
import { MailError } from '../errors';
import { mapiImportance } from '../importance';
import { extendedMapiError, mapiLoadError, simpleMapiError } from '../mapi-codes';
import { NormalizedAttachment, NormalizedMessage } from '../message';
import { loadNative, NativeBinding, NativeLoad, NativeSimpleRequest } from '../native';
import type { MapiSettings } from '../settings';
import { Effective, htmlToText } from './compose';

/** Per-send MAPI options. */
export interface MapiSendOptions {
  /** Show the mail client's compose window (overrides settings.mapi.dialog). */
  dialog?: boolean;
  /** Parent window: Electron's getNativeWindowHandle() Buffer, or the HWND as a bigint. */
  parentWindow?: Buffer | bigint;
}

/** Turns a parent-window handle into the ulUIParam value. */
export function uiParam(parent: Buffer | bigint | undefined): bigint {
  if (parent === undefined) return 0n;
  if (typeof parent === 'bigint') {
    if (parent < 0n || parent > 0xffffffffffffffffn) throw new TypeError('send: parentWindow is out of range');
    return parent;
  }
  if (Buffer.isBuffer(parent) && parent.length === 8) return parent.readBigUInt64LE(0);
  if (Buffer.isBuffer(parent) && parent.length === 4) return BigInt(parent.readUInt32LE(0));
  throw new TypeError('send: parentWindow must be a bigint or the 4- or 8-byte Buffer of getNativeWindowHandle()');
}

/** What a MAPI send reports back to the mailer. */
export interface MapiOutcome {
  /** false when an ANSI-only client got the message (MAPISendMail). */
  unicode: boolean;
  savedToSent: boolean;
}

const unavailable = (reason: string) =>
  new MailError('MAPI_UNAVAILABLE', `send (MAPI): unavailable: ${reason}`, {
    protocol: 'mapi',
    hint: "Use SMTP (customize: true, protocol: 'smtp') on this machine, or run on Windows with a MAPI mail client.",
  });

/** Sends through Simple or Extended MAPI. `native` is a seam: tests may give another loader. */
export class MapiTransport {
  readonly name = 'mapi';
  native: () => NativeLoad = loadNative;

  constructor(private readonly settings: MapiSettings) {}

  private binding(): NativeBinding {
    const loaded = this.native();
    if (!loaded.binding) throw unavailable(loaded.reason);
    return loaded.binding;
  }

  /** Sends; resolves once the mail client has taken the message. */
  async send(msg: NormalizedMessage, eff: Effective, options: MapiSendOptions): Promise<MapiOutcome> {
    const binding = this.binding();
    const temp = msg.attachments.some((a) => a.path === undefined) ? await fs.mkdtemp(path.join(os.tmpdir(), 'oxymail-')) : undefined;
    try {
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
        attachments: await Promise.all(msg.attachments.map((a, i) => attachmentFile(a, i, temp))),
      };
      if (this.settings.interface === 'extended') {
        if (!binding.sendExtended) throw unavailable('this build of the addon has no Extended MAPI');
        const result = await binding.sendExtended({
          ...common,
          // Extended MAPI sends silently; a logon dialog is allowed only when the caller gave a window to own it.
          logonUI: options.parentWindow !== undefined,
          importance: mapiImportance(eff.importance ?? 'normal'),
          deliveryReport: !!eff.deliveryReceipt,
          saveToSent: true,
        });
        if (result.call === 'LoadLibraryW' || result.call === 'GetProcAddress') throw mapiLoadError(result.call, result.dll, 0);
        if (result.hresult !== 0) throw extendedMapiError(result.hresult, result.call, 'send', common.password !== undefined);
        return { unicode: true, savedToSent: result.savedToSent };
      }
      const dialog = options.dialog ?? this.settings.dialog;
      const result = await binding.sendSimple({ ...common, logonUI: dialog, dialog });
      if (result.call === 'LoadLibraryW' || result.call === 'GetProcAddress') throw mapiLoadError(result.call, result.dll, result.win32Error);
      if (result.status !== 0) throw simpleMapiError(result.status, result.call);
      // Simple MAPI clients keep what they send in their Sent Items.
      return { unicode: result.unicode, savedToSent: true };
    } finally {
      if (temp) await fs.rm(temp, { recursive: true, force: true });
    }
  }
}

/** The MAPI profiles of this machine (MAPIAdminProfiles), for an administrator to pick one. */
export async function listProfiles(native: () => NativeLoad = loadNative): Promise<{ name: string; isDefault: boolean }[]> {
  const loaded = native();
  if (!loaded.binding) throw unavailable(loaded.reason);
  if (!loaded.binding.listProfiles) throw unavailable('this build of the addon has no Extended MAPI');
  const result = await loaded.binding.listProfiles({ dllPath: process.env.OXYMAIL_MAPI_DLL || undefined });
  if (result.hresult !== 0) throw extendedMapiError(result.hresult, result.call, 'profiles');
  return result.profiles;
}

/**
 * MAPI only takes files: in-memory content is written to a private temp folder (one sub-folder
 * per attachment, so two attachments may share a display name) and removed after the send.
 */
async function attachmentFile(a: NormalizedAttachment, i: number, temp: string | undefined): Promise<{ path: string; name: string }> {
  if (a.path !== undefined) return { path: a.path, name: a.filename };
  const dir = path.join(temp as string, String(i));
  await fs.mkdir(dir);
  const file = path.join(dir, a.filename.replace(/[\\/:*?"<>|]/g, '_'));
  const source = a.content instanceof Readable ? a.content : Readable.from([a.content as Buffer | string]);
  await pipeline(source, createWriteStream(file, { mode: 0o600 }));
  return { path: file, name: a.filename };
}
