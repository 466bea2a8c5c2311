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
import { mapiLoadError, simpleMapiError } from '../mapi-codes';
import { NormalizedAttachment, NormalizedMessage } from '../message';
import { loadNative, NativeBinding, NativeLoad, NativeSimpleRequest } from '../native';
import type { MapiSettings } from '../settings';
import { htmlToText } from './compose';

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

/** Sends through Simple MAPI. `native` is a seam: tests may give another loader. */
export class MapiTransport {
  readonly name = 'mapi';
  native: () => NativeLoad = loadNative;

  constructor(private readonly settings: MapiSettings) {}

  private binding(): NativeBinding {
    const loaded = this.native();
    if (!loaded.binding) {
      throw new MailError('MAPI_UNAVAILABLE', `send (MAPI): unavailable: ${loaded.reason}`, {
        protocol: 'mapi',
        hint: "Use SMTP (customize: true, protocol: 'smtp') on this machine, or run on Windows with a MAPI mail client.",
      });
    }
    return loaded.binding;
  }

  /** Sends; resolves with the addon's report once the mail client has taken the message. */
  async send(msg: NormalizedMessage, readReceipt: boolean, options: MapiSendOptions): Promise<{ unicode: boolean }> {
    const binding = this.binding();
    if (this.settings.interface === 'extended') {
      throw new MailError('MAPI_UNAVAILABLE', 'send (MAPI): Extended MAPI is not implemented in this version', {
        protocol: 'mapi',
        hint: "Use mapi.interface 'simple'.",
      });
    }
    const dialog = options.dialog ?? this.settings.dialog;
    const temp = msg.attachments.some((a) => a.path === undefined) ? await fs.mkdtemp(path.join(os.tmpdir(), 'oxymail-')) : undefined;
    try {
      const request: NativeSimpleRequest = {
        dllPath: process.env.OXYMAIL_MAPI_DLL || undefined,
        // An empty profile or password means "none": MAPILogon must not be called for it.
        profile: this.settings.profile || undefined,
        password: this.settings.password || undefined,
        logonUI: dialog,
        dialog,
        uiParam: uiParam(options.parentWindow),
        subject: msg.subject,
        body: msg.text ?? (msg.html !== undefined ? htmlToText(msg.html) : ''),
        readReceipt,
        recipients: [
          ...msg.to.map((m) => ({ recipClass: 1 as const, name: m.name || m.address, address: m.address })),
          ...msg.cc.map((m) => ({ recipClass: 2 as const, name: m.name || m.address, address: m.address })),
          ...msg.bcc.map((m) => ({ recipClass: 3 as const, name: m.name || m.address, address: m.address })),
        ],
        attachments: await Promise.all(msg.attachments.map((a, i) => attachmentFile(a, i, temp))),
      };
      const result = await binding.sendSimple(request);
      if (result.call === 'LoadLibraryW' || result.call === 'GetProcAddress') throw mapiLoadError(result.call, result.dll, result.win32Error);
      if (result.status !== 0) throw simpleMapiError(result.status, result.call);
      return { unicode: result.unicode };
    } finally {
      if (temp) await fs.rm(temp, { recursive: true, force: true });
    }
  }
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
